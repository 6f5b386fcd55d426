/**
 * The seccomp filter of sandboxed kernels (SPEC §12): a classic BPF program,
 * handed to bwrap's `--seccomp FD`, that makes the system calls below fail
 * with `EPERM` and lets every other call through. A Python kernel (numpy,
 * matplotlib, subprocess, threads, multiprocessing, ZeroMQ over ipc) uses
 * none of them.
 *
 * Written here, not loaded from libseccomp: the program is a short list of
 * comparisons, and the kernel layer loads no native code. Calls from a
 * foreign ABI (i386 or x32 on x86_64) fail with `ENOSYS`, so the list
 * cannot be bypassed by another syscall table.
 *
 * @module
 */

/** One denied system call, its numbers per architecture and the reason. */
export interface DeniedCall {
  /** System call name. */
  name: string;
  /** Number on x86_64 (null: not on this architecture). */
  x86_64: number | null;
  /** Number on aarch64 (the generic table; null: not on it). */
  aarch64: number | null;
  /** Why a kernel must not have it. */
  reason: string;
}

const KEYRING =
  "keyrings: the server's session and user keys (Kerberos caches, cached passphrases)";
const TRACE = "inspecting or changing other processes' memory";
const KERNEL = "large kernel attack surface no kernel code needs";
const ADMIN =
  "system administration (needs capabilities the sandbox drops; denied twice)";
const MOUNT =
  "mounts and namespaces: the sandbox's view of the file system is fixed";

/** The denied calls (numbers from the Linux uapi headers). */
export const DENIED_CALLS: readonly DeniedCall[] = Object.freeze([
  { name: "keyctl", x86_64: 250, aarch64: 219, reason: KEYRING },
  { name: "add_key", x86_64: 248, aarch64: 217, reason: KEYRING },
  { name: "request_key", x86_64: 249, aarch64: 218, reason: KEYRING },
  { name: "ptrace", x86_64: 101, aarch64: 117, reason: TRACE },
  { name: "process_vm_readv", x86_64: 310, aarch64: 270, reason: TRACE },
  { name: "process_vm_writev", x86_64: 311, aarch64: 271, reason: TRACE },
  { name: "kcmp", x86_64: 312, aarch64: 272, reason: TRACE },
  { name: "perf_event_open", x86_64: 298, aarch64: 241, reason: KERNEL },
  { name: "bpf", x86_64: 321, aarch64: 280, reason: KERNEL },
  { name: "userfaultfd", x86_64: 323, aarch64: 282, reason: KERNEL },
  { name: "io_uring_setup", x86_64: 425, aarch64: 425, reason: KERNEL },
  { name: "io_uring_enter", x86_64: 426, aarch64: 426, reason: KERNEL },
  { name: "io_uring_register", x86_64: 427, aarch64: 427, reason: KERNEL },
  { name: "fanotify_init", x86_64: 300, aarch64: 262, reason: KERNEL },
  { name: "lookup_dcookie", x86_64: 212, aarch64: 18, reason: KERNEL },
  { name: "open_by_handle_at", x86_64: 304, aarch64: 265, reason: KERNEL },
  { name: "name_to_handle_at", x86_64: 303, aarch64: 264, reason: KERNEL },
  { name: "mount", x86_64: 165, aarch64: 40, reason: MOUNT },
  { name: "umount2", x86_64: 166, aarch64: 39, reason: MOUNT },
  { name: "pivot_root", x86_64: 155, aarch64: 41, reason: MOUNT },
  { name: "chroot", x86_64: 161, aarch64: 51, reason: MOUNT },
  { name: "open_tree", x86_64: 428, aarch64: 428, reason: MOUNT },
  { name: "move_mount", x86_64: 429, aarch64: 429, reason: MOUNT },
  { name: "fsopen", x86_64: 430, aarch64: 430, reason: MOUNT },
  { name: "fsconfig", x86_64: 431, aarch64: 431, reason: MOUNT },
  { name: "fsmount", x86_64: 432, aarch64: 432, reason: MOUNT },
  { name: "fspick", x86_64: 433, aarch64: 433, reason: MOUNT },
  { name: "mount_setattr", x86_64: 442, aarch64: 442, reason: MOUNT },
  { name: "setns", x86_64: 308, aarch64: 268, reason: MOUNT },
  { name: "unshare", x86_64: 272, aarch64: 97, reason: MOUNT },
  { name: "kexec_load", x86_64: 246, aarch64: 104, reason: ADMIN },
  { name: "kexec_file_load", x86_64: 320, aarch64: 294, reason: ADMIN },
  { name: "init_module", x86_64: 175, aarch64: 105, reason: ADMIN },
  { name: "finit_module", x86_64: 313, aarch64: 273, reason: ADMIN },
  { name: "delete_module", x86_64: 176, aarch64: 106, reason: ADMIN },
  { name: "swapon", x86_64: 167, aarch64: 224, reason: ADMIN },
  { name: "swapoff", x86_64: 168, aarch64: 225, reason: ADMIN },
  { name: "reboot", x86_64: 169, aarch64: 142, reason: ADMIN },
  { name: "acct", x86_64: 163, aarch64: 89, reason: ADMIN },
  { name: "quotactl", x86_64: 179, aarch64: 60, reason: ADMIN },
  { name: "syslog", x86_64: 103, aarch64: 116, reason: ADMIN },
  { name: "vhangup", x86_64: 153, aarch64: 58, reason: ADMIN },
  { name: "iopl", x86_64: 172, aarch64: null, reason: ADMIN },
  { name: "ioperm", x86_64: 173, aarch64: null, reason: ADMIN },
  { name: "uselib", x86_64: 134, aarch64: null, reason: ADMIN },
]);

/** `AUDIT_ARCH_*` of the architectures the filter is built for. */
const AUDIT_ARCH = { x86_64: 0xc000003e, aarch64: 0xc00000b7 } as const;

const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;
/** x32 system calls on x86_64 have this bit set. */
const X32_BIT = 0x40000000;

/**
 * Builds the filter for an architecture.
 *
 * @param arch `x86_64` or `aarch64` (default: this machine's).
 * @returns The BPF program as bytes (`struct sock_filter[]`, little-endian).
 * @throws {Error} On another architecture.
 */
export function seccompFilter(
  arch: string = Deno.build.arch,
): Uint8Array {
  if (arch !== "x86_64" && arch !== "aarch64") {
    throw new Error(`No seccomp filter for the ${arch} architecture`);
  }
  const numbers = DENIED_CALLS.map((call) => call[arch]).filter((
    nr,
  ): nr is number => nr !== null);
  type Op = [code: number, jt: number, jf: number, k: number];
  const head: Op[] = [
    [BPF_LD_W_ABS, 0, 0, 4], // seccomp_data.arch
    [BPF_JEQ_K, 1, 0, AUDIT_ARCH[arch]],
    [BPF_RET_K, 0, 0, RET_ERRNO | ENOSYS],
    [BPF_LD_W_ABS, 0, 0, 0], // seccomp_data.nr
  ];
  const checks: number[] = arch === "x86_64" ? [X32_BIT, ...numbers] : numbers;
  // Layout: head, checks, allow, deny. A check at index i jumps to deny.
  const deny = head.length + checks.length + 1;
  const program: Op[] = [...head];
  checks.forEach((nr, n) => {
    const at = head.length + n;
    const code = arch === "x86_64" && n === 0 ? BPF_JGE_K : BPF_JEQ_K;
    program.push([code, deny - at - 1, 0, nr]);
  });
  program.push([BPF_RET_K, 0, 0, RET_ALLOW]);
  program.push([BPF_RET_K, 0, 0, RET_ERRNO | EPERM]);
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach(([code, jt, jf, k], i) => {
    view.setUint16(i * 8, code, true);
    view.setUint8(i * 8 + 2, jt);
    view.setUint8(i * 8 + 3, jf);
    view.setUint32(i * 8 + 4, k, true);
  });
  return bytes;
}
