/* exec/spawn.c — clone3 and the child's checklist. Between clone and exec the child runs in a
 * copy of one thread of a multithreaded process, so it calls only async-signal-safe functions
 * and allocates nothing: everything it needs was prepared by the parent in the plan. */
#include "exec/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exec/lsm.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* What the child tells berthd: where it failed and why (index: which sysctl). */
struct child_report {
    int stage;
    int err;
    int index;
};

/* ---- the child ---- */

static void report(int fd, int stage, int err, int index)
{
    struct child_report r = {.stage = stage, .err = err, .index = index};
    (void)!write(fd, &r, sizeof(r));
}

/* Signals back to defaults (berthd ignores SIGPIPE; its workers block everything), and the
 * mask cleared, so the container starts as a freshly exec'd process would. */
static void reset_signals(void)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int s = 1; s < _NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static int setup_stdio(const struct spawn_plan *p)
{
    if (setsid() < 0)
        return -errno;
    if (p->tty && ioctl(p->stdio[0], TIOCSCTTY, 0) < 0)
        return -errno;
    for (int i = 0; i < 3; i++)
        if (p->stdio[i] >= 0 && dup2(p->stdio[i], i) < 0)
            return -errno;
    return 0;
}

static int do_mount(const struct spawn_mount *m)
{
    if (m->mkdir_target && mkdir(m->target, 0755) < 0 && errno != EEXIST)
        return -errno;
    switch (m->kind) {
    case SPAWN_MOUNT_FS:
        return mount(m->source, m->target, m->fstype, m->flags, m->data) < 0 ? -errno : 0;
    case SPAWN_MOUNT_BIND:
        if (mount(m->source, m->target, NULL, MS_BIND | MS_REC, NULL) < 0)
            return -errno;
        if ((m->flags & MS_RDONLY) &&
            mount(NULL, m->target, NULL, MS_REMOUNT | MS_BIND | m->flags, NULL) < 0)
            return -errno;
        if (m->propagation && mount(NULL, m->target, NULL, m->propagation, NULL) < 0)
            return -errno;
        return 0;
    case SPAWN_MOUNT_MKNOD:
        if (mknod(m->target, S_IFCHR | 0666, m->rdev) < 0 && errno != EEXIST)
            return -errno;
        return chmod(m->target, 0666) < 0 ? -errno : 0; /* the umask trimmed it */
    case SPAWN_MOUNT_SYMLINK:
        return symlink(m->source, m->target) < 0 && errno != EEXIST ? -errno : 0;
    case SPAWN_MOUNT_DIR:
        return mkdir(m->target, 0755) < 0 && errno != EEXIST ? -errno : 0;
    case SPAWN_MOUNT_DEVICE:
        if ((unlink(m->target) < 0 && errno != ENOENT) || mknod(m->target, m->mode, m->rdev) < 0)
            return -errno;
        if (chmod(m->target, m->mode & 07777) < 0 || chown(m->target, m->uid, m->gid) < 0)
            return -errno; /* chmod: the umask trimmed the mode */
        return 0;
    }
    return -EINVAL;
}

/* Into the new root, with the old one detached: only the container's tree stays visible. The
 * old root must be a slave of the host's mounts before it goes, so its detach cannot propagate
 * there: already so, unless the root was left shared; then, as runc, it is made one, reached
 * through an fd of it (after pivot_root "." is the new root for mount(2), which does not
 * follow the old root stacked on it as umount2 does). */
static int pivot(const char *rootfs, bool root_shared)
{
    int oldroot = -1, r = 0;
    if (root_shared && (oldroot = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC)) < 0)
        return -errno;
    if (chdir(rootfs) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
        (oldroot >= 0 &&
         (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)) ||
        umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        r = -errno;
    if (oldroot >= 0)
        close(oldroot);
    return r;
}

/* What the container's mounts propagate. Usually every mount it inherits becomes a slave of
 * the host's: nothing it mounts leaks out. With a (r)shared bind the host's mounts stay as
 * they are, so the bind joins its source's peer group; the rootfs is made private and bound
 * on itself instead, so that mounts made in it stay in (and pivot_root, which refuses a
 * shared parent, works), as runc does for a shared root propagation. */
static int root_propagation(const struct spawn_plan *p)
{
    if (!p->root_shared)
        return mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0 ? -errno : 0;
    if (mount(NULL, p->rootfs, NULL, MS_PRIVATE, NULL) < 0 ||
        mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return -errno;
    return 0;
}

/* Docker's read-only paths are also nosuid, nodev and noexec (as runc remounts them). */
#define RO_PATH_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* Masked files get /dev/null over them, masked directories an empty read-only tmpfs; a path
 * this kernel does not have is skipped. */
static int mask_paths(const struct spawn_plan *p)
{
    for (const char *const *m = p->masked; m && *m; m++) {
        struct stat st;
        if (stat(*m, &st) < 0)
            continue;
        int r = S_ISDIR(st.st_mode) ? mount("tmpfs", *m, "tmpfs", MS_RDONLY, "size=0k")
                                    : mount("/dev/null", *m, NULL, MS_BIND, NULL);
        if (r < 0)
            return -errno;
    }
    for (const char *const *m = p->readonly; m && *m; m++) {
        if (access(*m, F_OK) < 0)
            continue;
        if (mount(*m, *m, NULL, MS_BIND | MS_REC, NULL) < 0 ||
            mount(NULL, *m, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC | RO_PATH_FLAGS, NULL) <
                0)
            return -errno;
    }
    return 0;
}

/* runc's order: after the hostname's namespace and the new root exist, before /proc/sys is
 * made read-only. The paths are in the container's own /proc, so each write reaches its
 * namespaces. */
static int write_sysctls(const struct spawn_plan *p, int *stage, int *index)
{
    for (size_t i = 0; i < p->nsysctls; i++) {
        *index = (int)i;
        *stage = STAGE_SYSCTL_OPEN;
        int fd = open(p->sysctls[i].path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        *stage = STAGE_SYSCTL;
        ssize_t n = write(fd, p->sysctls[i].value, strlen(p->sysctls[i].value));
        int e = errno;
        close(fd);
        if (n < 0)
            return -e;
    }
    return 0;
}

static int setup_fs(const struct spawn_plan *p, int *stage, int *index)
{
    if (p->exec) /* it entered the container's mount namespace, whose root is the container's */
        return 0;
    *stage = STAGE_MOUNT;
    int r = root_propagation(p);
    if (r < 0)
        return r;
    for (size_t i = 0; i < p->nmounts; i++) {
        if ((r = do_mount(&p->mounts[i])) < 0)
            return r;
    }
    *stage = STAGE_PIVOT;
    if ((r = pivot(p->rootfs, p->root_shared)) < 0)
        return r;
    if ((r = write_sysctls(p, stage, index)) < 0)
        return r;
    /* the new root shared in the container's namespace, as runc applies "shared" */
    if (p->root_shared && mount(NULL, "/", NULL, MS_SHARED, NULL) < 0)
        return -errno;
    *stage = STAGE_MASK;
    if ((r = mask_paths(p)) < 0)
        return r;
    if (p->readonly_rootfs && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        return -errno;
    return 0;
}

static int write_oom_score(int value)
{
    char buf[16], *p = buf + sizeof(buf);
    unsigned v = value < 0 ? (unsigned)-value : (unsigned)value;
    *--p = '\0';
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10));
    if (value < 0)
        *--p = '-';
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    int r = fd < 0 || write(fd, p, strlen(p)) < 0 ? -errno : 0;
    if (fd >= 0)
        close(fd);
    return r;
}

static int setup_process(const struct spawn_plan *p, int *stage)
{
    *stage = STAGE_HOSTNAME;
    if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
        return -errno;
    if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
        return -errno;
    *stage = STAGE_RLIMIT;
    for (size_t i = 0; i < p->nrlimits; i++)
        if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].limit) < 0)
            return -errno;
    if (p->oom_score_adj && write_oom_score(p->oom_score_adj) < 0)
        return -errno;
    *stage = STAGE_CWD;
    if (chdir(p->cwd && *p->cwd ? p->cwd : "/") < 0)
        return -errno;
    *stage = STAGE_LSM; /* in the container's /proc, before capabilities and seccomp, as runc */
    for (size_t i = 0; i < p->nattrs; i++) {
        int r = lsm_write_attr(p->attrs[i].path, p->attrs[i].value);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Permitted caps kept across the user switch, then caps_apply sets every set (bounding too).
 * Without no_new_privs the filter goes in while CAP_SYS_ADMIN still allows it; with it, last. */
static int become_user(const struct spawn_plan *p, int *stage)
{
    int r;
    if (p->seccomp && !p->no_new_privs) {
        *stage = STAGE_SECCOMP;
        if ((r = seccomp_install(p->seccomp)) < 0)
            return r;
    }
    *stage = STAGE_CAPS;
    if ((r = caps_keep_across_setuid(true)) < 0)
        return r;
    *stage = STAGE_USER;
    /* Raw syscalls: glibc's wrappers would broadcast the change to every thread it believes
     * this process has (berthd's, copied by clone), taking a lock some thread may have held. */
    if (syscall(SYS_setgroups, p->ngroups, p->groups) < 0 ||
        syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0 ||
        syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
        return -errno;
    *stage = STAGE_CAPS;
    if ((r = caps_apply(&p->caps)) < 0)
        return r;
    if ((r = caps_keep_across_setuid(false)) < 0)
        return r;
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    if (p->seccomp && p->no_new_privs) {
        *stage = STAGE_SECCOMP;
        if ((r = seccomp_install(p->seccomp)) < 0)
            return r;
    }
    return 0;
}

/* execvpe without malloc: each PATH entry joined into a stack buffer. EACCES anywhere beats a
 * later ENOENT, as execvp reports it. */
static int exec_command(const struct spawn_plan *p)
{
    const char *file = p->argv[0];
    if (strchr(file, '/')) {
        execve(file, p->argv, p->envp);
        return -errno;
    }
    int result = -ENOENT;
    char path[4096];
    size_t flen = strlen(file);
    for (const char *const *dir = p->path; dir && *dir; dir++) {
        size_t dlen = strlen(*dir);
        if (dlen + flen + 2 > sizeof(path))
            continue;
        memcpy(path, *dir, dlen);
        path[dlen] = '/';
        memcpy(path + dlen + 1, file, flen + 1);
        execve(path, p->argv, p->envp);
        if (errno == EACCES)
            result = -EACCES;
        else if (errno != ENOENT && errno != ENOTDIR && result == -ENOENT)
            result = -errno;
    }
    return result;
}

/* Into the cgroup first, so nothing of the container runs outside its limits; then a cgroup
 * namespace rooted there, so the container sees its own cgroup as "/". */
static int join_cgroup(const struct spawn_plan *p, const int *fds, int nfds)
{
    for (int i = 0; i < nfds; i++)
        if (write(fds[i], "0", 1) != 1)
            return -errno;
    if (p->cgroupns && unshare(CLONE_NEWCGROUP) < 0)
        return -errno;
    return 0;
}

/* Other containers' namespaces (several of one pidfd could go in one setns; one each is as
 * cheap). A PID namespace was entered by the parent before the clone (see spawn): it takes
 * only children. */
static int join_namespaces(const struct spawn_plan *p)
{
    for (size_t i = 0; i < p->njoins; i++) {
        int nstype = p->joins[i].nstype & ~CLONE_NEWPID;
        if (nstype && setns(p->joins[i].pidfd, nstype) < 0)
            return -errno;
    }
    return 0;
}

static int child_main(const struct spawn_plan *p, const int *cg_fds, int ncg, int report_fd)
{
    int stage = STAGE_CGROUP, index = 0, r;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* no shim: the container goes with its engine */
    prctl(PR_SET_DUMPABLE, 0);        /* no /proc/PID/exe window until exec */
    if ((r = join_cgroup(p, cg_fds, ncg)) < 0)
        goto fail;
    stage = STAGE_NAMESPACES;
    if (p->njoins && (r = join_namespaces(p)) < 0)
        goto fail;
    reset_signals();
    stage = STAGE_STDIO;
    if ((r = setup_stdio(p)) < 0)
        goto fail;
    if ((r = setup_fs(p, &stage, &index)) < 0)
        goto fail;
    if ((r = setup_process(p, &stage)) < 0)
        goto fail;
    if ((r = become_user(p, &stage)) < 0)
        goto fail;
    /* no engine fd may reach the container: every fd but 0-2 closes on exec */
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    stage = STAGE_EXEC;
    r = exec_command(p);
fail:
    report(report_fd, stage, -r, index);
    _exit(stage == STAGE_EXEC && (r == -ENOENT || r == -ENOTDIR) ? 127
          : stage == STAGE_EXEC && r == -EACCES                  ? 126
                                                                 : 125);
}

/* ---- the parent ---- */

static const char *stage_name(int stage)
{
    static const char *const names[] = {"",
                                        "cgroup",
                                        "join namespaces",
                                        "stdio",
                                        "mounts",
                                        "pivot_root",
                                        "sysctl",
                                        "sysctl",
                                        "masking",
                                        "hostname",
                                        "rlimits",
                                        "user",
                                        "capabilities",
                                        "seccomp",
                                        "cwd",
                                        "apparmor/selinux exec attribute",
                                        "exec"};
    return stage > 0 && stage <= STAGE_EXEC ? names[stage] : "setup";
}

/* strerror's words; for an exec in Go's spelling, as runc says them ("no such file or
 * directory"). */
static const char *why(const struct spawn_plan *p, int e, char buf[128])
{
    snprintf(buf, 128, "%s", strerror(e));
    if (p->exec && buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* dockerd's words (which the docker CLI matches to pick exit codes 127 and 126), as its
 * container start says them, or as runc's exec does for a docker exec. */
static int child_error(const struct spawn_plan *p, const struct child_report *rep, int *exit_code,
                       struct berth_err **err)
{
    const char *pre = p->exec ? "OCI runtime exec failed: exec failed: unable to start container "
                                "process: "
                              : "failed to create task for container: ";
    const char *post = p->exec ? ": unknown" : "";
    const char *file = p->argv[0];
    char text[128];
    if (rep->stage == STAGE_EXEC && (rep->err == ENOENT || rep->err == ENOTDIR)) {
        *exit_code = 127;
        if (strchr(file, '/'))
            return berth_user_error(err, EINVAL,
                                    "%sexec: \"%s\": stat %s: no such file or directory%s", pre,
                                    file, file, post);
        return berth_user_error(err, EINVAL, "%sexec: \"%s\": executable file not found in $PATH%s",
                                pre, file, post);
    }
    if (rep->stage == STAGE_EXEC && rep->err == EACCES) {
        *exit_code = 126;
        return berth_user_error(err, EINVAL, "%sexec: \"%s\": permission denied%s", pre, file,
                                post);
    }
    *exit_code = 125;
    const struct spawn_sysctl *sc =
        rep->index >= 0 && (size_t)rep->index < p->nsysctls ? &p->sysctls[rep->index] : NULL;
    if (rep->stage == STAGE_SYSCTL_OPEN && sc) /* runc's words */
        return berth_user_error(err, EINVAL, "%sopen sysctl %s file: %s%s", pre, sc->key,
                                why(p, rep->err, text), post);
    if (rep->stage == STAGE_SYSCTL && sc)
        return berth_user_error(err, EINVAL, "%sfailed to write sysctl %s = \"%s\": %s%s", pre,
                                sc->key, sc->value, why(p, rep->err, text), post);
    if (rep->stage == STAGE_CWD)
        return berth_user_error(err, EINVAL,
                                "%schdir to cwd (\"%s\") set in config.json failed: %s%s", pre,
                                p->cwd, why(p, rep->err, text), post);
    return berth_user_error(err, EINVAL, "%s%s: %s%s", pre, stage_name(rep->stage),
                            why(p, rep->err, text), post);
}

static pid_t do_clone(const struct spawn_plan *p, const struct cgroup *cg, int *pidfd)
{
    int cgfd = cg ? cgroup_dir_fd(cg) : -1;
    struct clone_args args = {.flags = CLONE_PIDFD | (uint64_t)p->clone_flags |
                                       (cgfd >= 0 ? CLONE_INTO_CGROUP : 0),
                              .pidfd = (uint64_t)(uintptr_t)pidfd,
                              .exit_signal = SIGCHLD,
                              .cgroup = cgfd >= 0 ? (uint64_t)cgfd : 0};
    return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/* The PID namespace the process is to join: a pidfd of a process in it, or -1. */
static int pid_join(const struct spawn_plan *p)
{
    for (size_t i = 0; i < p->njoins; i++)
        if (p->joins[i].nstype & CLONE_NEWPID)
            return p->joins[i].pidfd;
    return -1;
}

/* berthd's own PID namespace, to come back to. */
static int own_pidns = -1;

static void open_own_pidns(void)
{
    own_pidns = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
}

/* A PID namespace takes only the children of who enters it, so this thread enters it for
 * the clone (the child is born there: no second fork) and comes back at once. Only this
 * thread's children are placed by it, and nothing else runs on this thread meanwhile. */
static int enter_pidns(const struct spawn_plan *p, int pidfd, struct berth_err **err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, open_own_pidns);
    if (own_pidns < 0)
        return berth_error(err, EBADF, "open /proc/thread-self/ns/pid");
    if (setns(pidfd, CLONE_NEWPID) == 0)
        return 0;
    int e = errno;
    return berth_user_error(err, EINVAL, "%s: join namespaces: %s",
                            p->exec ? "OCI runtime exec failed: exec failed"
                                    : "failed to create task for container",
                            strerror(e));
}

static void leave_pidns(void)
{
    if (setns(own_pidns, CLONE_NEWPID) < 0) { /* later children would land in a container */
        log_error("spawn: cannot return to berthd's PID namespace: %s", strerror(errno));
        abort();
    }
}

static void close_all(int *fds, int n)
{
    while (n > 0)
        close(fds[--n]);
}

int spawn(const struct spawn_plan *p, const struct cgroup *cg, struct spawn_result *out,
          int *exit_code, struct berth_err **err)
{
    int rep[2], pidfd = -1, cg_fds[CGROUP_JOIN_MAX];
    *exit_code = 125;
    int ncg = cg ? cgroup_join_fds(cg, cg_fds, err) : 0;
    if (ncg < 0)
        return ncg;
    if (pipe2(rep, O_CLOEXEC) < 0) {
        close_all(cg_fds, ncg);
        return berth_error(err, errno, "pipe");
    }
    int join_pid = pid_join(p), r;
    if (join_pid >= 0 && (r = enter_pidns(p, join_pid, err)) < 0) {
        close_all(cg_fds, ncg);
        close(rep[0]), close(rep[1]);
        return r;
    }
    int64_t t0 = mono_us();
    pid_t pid = do_clone(p, cg, &pidfd);
    if (pid == 0) {
        close(rep[0]);
        child_main(p, cg_fds, ncg, rep[1]);
    }
    int e = errno;
    if (join_pid >= 0)
        leave_pidns();
    close_all(cg_fds, ncg);
    close(rep[1]);
    _cleanup_close_ int rep_fd = rep[0];
    if (pid < 0)
        return berth_error(err, e, "clone3");
    out->pid = pid;
    out->pidfd = pidfd;
    out->clone_us = mono_us() - t0;
    struct child_report report;
    ssize_t n = read(rep_fd, &report, sizeof(report));
    out->exec_us = mono_us() - t0;
    if (n == 0)
        return 0; /* the close-on-exec pipe closed: the command runs */
    waitpid(pid, NULL, 0);
    close(pidfd);
    if (n != (ssize_t)sizeof(report))
        return berth_user_error(err, EIO,
                                "failed to create task for container: the process "
                                "died during set-up");
    return child_error(p, &report, exit_code, err);
}
