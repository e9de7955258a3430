/*
 * Stand-in for Windows' bcryptprimitives.dll, for Wine 8 only.
 *
 * deno.exe and bun.exe import ProcessPrng from bcryptprimitives.dll (the
 * Rust standard library and Zig use it for random bytes). Wine 8 does not ship
 * that DLL, so both exit at load time (status 53) without a word. This DLL
 * exports ProcessPrng and fills the buffer with BCryptGenRandom, which Wine
 * has. setup.sh builds it with mingw-w64 into the prefix's system32.
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -shared -o bcryptprimitives.dll \
 *          bcryptprimitives.c bcryptprimitives.def -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

/* BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData); documented to always
 * return TRUE on Windows; we return FALSE only if BCryptGenRandom fails. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
