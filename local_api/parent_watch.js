// Preloaded into dynalite (`node --require`): exit when the Python process that
// started it is gone. That process holds the write end of this process's stdin
// pipe; the kernel closes it when the process ends in any way, kill -9 included,
// and the read end here sees end-of-file.
"use strict";
process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
