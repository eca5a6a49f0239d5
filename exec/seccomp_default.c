/* exec/seccomp_default.c — berth's default seccomp profile: the same effect as Docker's default
 * (moby/profiles default.json): an allow-list, argument- and capability-conditional rules, EPERM.
 */
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>

#include "core/macros.h"
#include "exec/seccomp_profile.h"

#define NAMES(...)  ((const char *const[]){__VA_ARGS__, NULL})
#define ARCHES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CAP(c)      (UINT64_C(1) << (c))
#define ARG(...)    .args = (const struct seccomp_arg[]){__VA_ARGS__}, .n_args = 1

/* Capability numbers, spelled out so this table needs no kernel header beyond the ABI. */
enum {
    CAP_DAC_READ_SEARCH = 2,
    CAP_SYS_CHROOT = 18,
    CAP_SYS_MODULE = 16,
    CAP_SYS_RAWIO = 17,
    CAP_SYS_PTRACE = 19,
    CAP_SYS_PACCT = 20,
    CAP_SYS_ADMIN = 21,
    CAP_SYS_BOOT = 22,
    CAP_SYS_NICE = 23,
    CAP_SYS_TIME = 25,
    CAP_SYS_TTY_CONFIG = 26,
    CAP_SYSLOG = 34,
    CAP_PERFMON = 38,
    CAP_BPF = 39,
};

/* clone(2) flags that make new namespaces: without CAP_SYS_ADMIN a container may clone threads
 * and processes but not namespaces (unshare and setns are CAP_SYS_ADMIN-only below). */
#define NS_FLAGS                                                                                   \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |  \
     CLONE_NEWNET)

/* personality(2) values a container may set: Linux, 32-bit Linux, the uname-2.6 emulation of
 * both, and 0xffffffff, which only queries. The rest (e.g. PER_BSD, ADDR_NO_RANDOMIZE) stay
 * blocked: some personalities disable ASLR or change how the kernel treats the process. */
#define PER_LINUX   0x0000
#define PER_LINUX32 0x0008
#define UNAME26     0x0020000
#define PER_QUERY   0xffffffffu

/* Syscalls every container may make. Names this libseccomp or this arch does not know are
 * skipped when compiling, so the list can run ahead of both. (Packed by hand: clang-format
 * would put each of the 361 names on its own line.) */
/* clang-format off */
static const char *const allowed[] = {
    "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
    "cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
    "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
    "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
    "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
    "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2",
    "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
    "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
    "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64",
    "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue",
    "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "get_robust_list",
    "get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid",
    "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
    "getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup",
    "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
    "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr", "lremovexattr",
    "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "open", "openat",
    "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
    "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
    "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64",
    "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
    "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
    "removexattrat", "rename", "renameat", "renameat2", "restart_syscall", "riscv_hwprobe",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
    "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid",
    "setuid32", "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
    "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair",
    "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat",
    "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
    "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
    "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes",
    "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
    NULL,
};
/* clang-format on */

static const struct seccomp_rule rules[] = {
    {.names = allowed, .action = SCMP_ACT_ALLOW},
    /* Before 4.8 ptrace could be used to bypass seccomp. */
    {.names = NAMES("process_vm_readv", "process_vm_writev", "ptrace"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.min_kernel = {4, 8}}},
    /* socket(2) for every address family but AF_ALG (38) and AF_VSOCK (40): vsock reaches the
     * hypervisor host, outside any network namespace. 32-bit x86 socketcall(2) is not covered,
     * as in Docker. */
    {.names = NAMES("socket"), .action = SCMP_ACT_ALLOW, ARG({0, SCMP_CMP_LT, AF_ALG, 0})},
    {.names = NAMES("socket"), .action = SCMP_ACT_ALLOW, ARG({0, SCMP_CMP_EQ, AF_ALG + 1, 0})},
    {.names = NAMES("socket"), .action = SCMP_ACT_ALLOW, ARG({0, SCMP_CMP_GT, AF_VSOCK, 0})},
    {.names = NAMES("personality"), .action = SCMP_ACT_ALLOW, ARG({0, SCMP_CMP_EQ, PER_LINUX, 0})},
    {.names = NAMES("personality"),
     .action = SCMP_ACT_ALLOW,
     ARG({0, SCMP_CMP_EQ, PER_LINUX32, 0})},
    {.names = NAMES("personality"), .action = SCMP_ACT_ALLOW, ARG({0, SCMP_CMP_EQ, UNAME26, 0})},
    {.names = NAMES("personality"),
     .action = SCMP_ACT_ALLOW,
     ARG({0, SCMP_CMP_EQ, UNAME26 | PER_LINUX32, 0})},
    {.names = NAMES("personality"), .action = SCMP_ACT_ALLOW, ARG({0, SCMP_CMP_EQ, PER_QUERY, 0})},

    /* Architecture-specific syscalls. */
    {.names = NAMES("sync_file_range2", "swapcontext"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.arches = ARCHES("ppc64le")}},
    {.names = NAMES("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                    "cacheflush", "set_tls"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.arches = ARCHES("arm", "arm64")}},
    {.names = NAMES("arch_prctl"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.arches = ARCHES("amd64", "x32")}},
    {.names = NAMES("modify_ldt"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.arches = ARCHES("amd64", "x32", "x86")}},
    {.names = NAMES("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.arches = ARCHES("s390", "s390x")}},
    {.names = NAMES("riscv_flush_icache"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.arches = ARCHES("riscv64")}},

    /* Syscalls a capability already guards in the kernel: allowed when the container holds it,
     * so a capability granted with --cap-add is usable. */
    {.names = NAMES("open_by_handle_at"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.caps = CAP(CAP_DAC_READ_SEARCH)}},
    {.names = NAMES("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                    "fspick", "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules",
                    "lsm_set_self_attr", "mount", "mount_setattr", "move_mount", "open_tree",
                    "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                    "setns", "syslog", "umount", "umount2", "unshare"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.caps = CAP(CAP_SYS_ADMIN)}},
    /* Without CAP_SYS_ADMIN, clone only without namespace flags (s390 swaps the first two
     * arguments of clone). */
    {.names = NAMES("clone"),
     .action = SCMP_ACT_ALLOW,
     ARG({0, SCMP_CMP_MASKED_EQ, NS_FLAGS, 0}),
     .excludes = {.caps = CAP(CAP_SYS_ADMIN), .arches = ARCHES("s390", "s390x")}},
    {.names = NAMES("clone"),
     .action = SCMP_ACT_ALLOW,
     ARG({1, SCMP_CMP_MASKED_EQ, NS_FLAGS, 0}),
     .includes = {.arches = ARCHES("s390", "s390x")},
     .excludes = {.caps = CAP(CAP_SYS_ADMIN)}},
    /* clone3 passes its flags in memory, out of the filter's reach: ENOSYS makes libc fall back
     * to clone, whose flags the rule above checks. */
    {.names = NAMES("clone3"),
     .action = SCMP_ACT_ERRNO(ENOSYS),
     .excludes = {.caps = CAP(CAP_SYS_ADMIN)}},
    {.names = NAMES("reboot"), .action = SCMP_ACT_ALLOW, .includes = {.caps = CAP(CAP_SYS_BOOT)}},
    {.names = NAMES("chroot"), .action = SCMP_ACT_ALLOW, .includes = {.caps = CAP(CAP_SYS_CHROOT)}},
    {.names = NAMES("delete_module", "init_module", "finit_module"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.caps = CAP(CAP_SYS_MODULE)}},
    {.names = NAMES("acct"), .action = SCMP_ACT_ALLOW, .includes = {.caps = CAP(CAP_SYS_PACCT)}},
    {.names = NAMES("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                    "process_vm_writev", "ptrace"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.caps = CAP(CAP_SYS_PTRACE)}},
    {.names = NAMES("iopl", "ioperm"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.caps = CAP(CAP_SYS_RAWIO)}},
    {.names = NAMES("settimeofday", "stime", "clock_settime", "clock_settime64"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.caps = CAP(CAP_SYS_TIME)}},
    {.names = NAMES("vhangup"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.caps = CAP(CAP_SYS_TTY_CONFIG)}},
    {.names = NAMES("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.caps = CAP(CAP_SYS_NICE)}},
    {.names = NAMES("syslog"), .action = SCMP_ACT_ALLOW, .includes = {.caps = CAP(CAP_SYSLOG)}},
    {.names = NAMES("bpf"), .action = SCMP_ACT_ALLOW, .includes = {.caps = CAP(CAP_BPF)}},
    {.names = NAMES("perf_event_open"),
     .action = SCMP_ACT_ALLOW,
     .includes = {.caps = CAP(CAP_PERFMON)}},
};

/* Which sub-architectures share a filter with each native one (32-bit userlands on 64-bit
 * kernels). */
static const struct seccomp_arch_map arch_map[] = {
    {SCMP_ARCH_X86_64, {SCMP_ARCH_X86, SCMP_ARCH_X32}},
    {SCMP_ARCH_AARCH64, {SCMP_ARCH_ARM}},
    {SCMP_ARCH_MIPS64, {SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64N32}},
    {SCMP_ARCH_MIPS64N32, {SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64}},
    {SCMP_ARCH_MIPSEL64, {SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64N32}},
    {SCMP_ARCH_MIPSEL64N32, {SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64}},
    {SCMP_ARCH_S390X, {SCMP_ARCH_S390}},
    {SCMP_ARCH_RISCV64, {0}},
#ifdef SCMP_ARCH_LOONGARCH64
    {SCMP_ARCH_LOONGARCH64, {0}},
#endif
};

void seccomp_profile_default(const struct seccomp_target *t, struct seccomp_profile *out)
{
    *out = (struct seccomp_profile){
        .default_action = SCMP_ACT_ERRNO(EPERM),
        .rules = rules,
        .n_rules = ARRAY_SIZE(rules),
    };
    seccomp_profile_pick_arches(out, t, arch_map, ARRAY_SIZE(arch_map));
}
