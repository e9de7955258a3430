// A plain C peer: opens /<name>, checks the first bytes, writes its own, creates /<name>-c.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char path[300];
  snprintf(path, sizeof path, "/%s", argv[1]);
  int fd = shm_open(path, O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 1; }
  unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  printf("%02x%02x%02x%02x\n", p[0], p[1], p[2], p[3]);
  memcpy(p + 4, "from C", 6);
  munmap(p, 4096);
  close(fd);
  // And a segment of its own for shmem to open.
  snprintf(path, sizeof path, "/%s-c", argv[1]);
  fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || ftruncate(fd, 8192) != 0) { perror("create"); return 1; }
  p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  p[8191] = 0x5a;
  munmap(p, 8192);
  close(fd);
  return 0;
}
