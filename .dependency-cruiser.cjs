/**
 * The library's import structure, checked by `npm run test:static`:
 * no cycles; posix/ and windows/ import only ffi/, the platform contracts,
 * errors.ts and each other's own directory; nothing outside ffi/ imports
 * bun:ffi or koffi; public classes reach posix/ and windows/ only through
 * platform/mod.ts.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "Modules must not import each other in a circle (type-only imports included).",
      from: {},
      to: { circular: true },
    },
    {
      name: "mechanism-imports-below-only",
      severity: "error",
      comment:
        "posix/ and windows/ are mechanism: they import ffi/, the boundary's contracts, errors.ts and their own " +
        "directory. posix/futex.ts and windows/wait_kernel.ts also use the off-thread waiter (internal/waiter.ts), itself built on ffi/ only.",
      from: { path: "^(posix|windows)/" },
      to: {
        pathNot: [
          "^ffi/",
          "^platform/contracts[.]ts$",
          "^errors[.]ts$",
          "^types[.]ts$",
          "^names[.]ts$",
          "^$1/",
          "^internal/waiter[.]ts$",
        ],
        dependencyTypesNot: ["core"],
      },
    },
    {
      name: "waiter-imports-below-only",
      severity: "error",
      from: { path: "^internal/waiter[.]ts$" },
      to: { pathNot: ["^ffi/", "^platform/contracts[.]ts$", "^errors[.]ts$", "^types[.]ts$"] },
    },
    {
      name: "one-door-to-the-os",
      severity: "error",
      comment: "Only the boundary's table imports posix/ and windows/.",
      from: { path: "^(?!platform/mod[.]ts$|posix/|windows/|tests/|bench/|tools/|examples/)" },
      to: { path: "^(posix|windows)/" },
    },
    {
      name: "runtime-modules-only-in-ffi",
      severity: "error",
      comment: "bun:ffi and koffi are reached through ffi/ only.",
      from: { pathNot: "^(ffi|tests|bench|tools)/" },
      to: { path: "(^|/)(koffi|bun:ffi)($|/)" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|[.]cache)/" },
    // TypeScript 7 has no JavaScript API for dependency-cruiser to parse with: swc parses the sources.
    parser: "swc",
    tsPreCompilationDeps: true,
    combinedDependencies: false,
  },
};
