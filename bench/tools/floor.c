/* floor: the least a supervisor with clp's restart does, as a reference for
 * the latency pass. It runs START (the job); when the job dies it runs STOP
 * with CLP_PID set to the job's pid, waits for it, and runs START again.
 * Nothing else: no state, no logs, no alerts.
 *
 *   floor START STOP             posix_spawn (vfork) and blocking waitpid
 *   floor START STOP CGROUP_DIR  clp's kernel mechanics: each script born in
 *                                a cgroup of its own under CGROUP_DIR (clone3,
 *                                CLONE_INTO_CGROUP | CLONE_VFORK | CLONE_PIDFD),
 *                                ends seen through the pidfd in epoll
 *
 * With CGROUP_DIR it makes CGROUP_DIR/clp-bench-floor-<pid>-{job,stop} and
 * removes them when it ends. SIGTERM: kills the job, then ends. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t stopping;
static void on_term(int sig) {
    (void)sig;
    stopping = 1;
}

/* The cgroup mode's state. */
static int epfd = -1;
static int cgroup_fd[2] = {-1, -1};
static char cgroup_path[2][4096];

struct run {
    pid_t pid;
    int pidfd; /* -1 without CGROUP_DIR */
};

static struct run start(const char *path, char **env, int which) {
    struct run r = {.pid = -1, .pidfd = -1};
    char *argv[] = {(char *)path, NULL};
    if (epfd < 0) {
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
        int e = posix_spawn(&r.pid, path, NULL, &attr, argv, env);
        posix_spawnattr_destroy(&attr);
        if (e) {
            fprintf(stderr, "floor: cannot run %s: %s\n", path, strerror(e));
            exit(1);
        }
        return r;
    }
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VFORK | CLONE_INTO_CGROUP | CLONE_PIDFD;
    args.exit_signal = SIGCHLD;
    args.cgroup = (unsigned long)cgroup_fd[which];
    args.pidfd = (unsigned long)&r.pidfd;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        setsid();
        execve(path, argv, env);
        _exit(127);
    }
    if (pid < 0) {
        perror("floor: clone3");
        exit(1);
    }
    r.pid = (pid_t)pid;
    return r;
}

/* Waits for the end of `r`; false when SIGTERM came first. */
static int wait_end(struct run r) {
    if (r.pidfd < 0) {
        int status;
        while (waitpid(r.pid, &status, 0) < 0)
            if (errno != EINTR || stopping)
                return 0;
        return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = r.pidfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, r.pidfd, &ev);
    struct epoll_event got;
    int n;
    while ((n = epoll_wait(epfd, &got, 1, -1)) < 1)
        if (n < 0 && (errno != EINTR || stopping))
            return 0;
    epoll_ctl(epfd, EPOLL_CTL_DEL, r.pidfd, NULL);
    siginfo_t info;
    waitid(P_PIDFD, r.pidfd, &info, WEXITED);
    close(r.pidfd);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fputs("usage: floor START STOP [CGROUP_DIR]\n", stderr);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term; /* no SA_RESTART: the waits return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    if (argc == 4) {
        const char *names[2] = {"job", "stop"};
        for (int i = 0; i < 2; i++) {
            snprintf(cgroup_path[i], sizeof cgroup_path[i], "%s/clp-bench-floor-%d-%s", argv[3],
                     (int)getpid(), names[i]);
            if (mkdir(cgroup_path[i], 0755) != 0 && errno != EEXIST) {
                fprintf(stderr, "floor: cannot make %s: %s\n", cgroup_path[i], strerror(errno));
                return 1;
            }
            cgroup_fd[i] = open(cgroup_path[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (cgroup_fd[i] < 0) {
                fprintf(stderr, "floor: cannot open %s: %s\n", cgroup_path[i], strerror(errno));
                return 1;
            }
        }
        epfd = epoll_create1(EPOLL_CLOEXEC);
    }
    char pid_var[64];
    char *stop_env[] = {pid_var, "PATH=/usr/bin:/bin", NULL};
    struct run job = start(argv[1], environ, 0);
    while (!stopping) {
        if (!wait_end(job))
            break;
        snprintf(pid_var, sizeof pid_var, "CLP_PID=%d", (int)job.pid);
        job.pid = -1;
        if (!wait_end(start(argv[2], stop_env, 1)))
            break;
        job = start(argv[1], environ, 0);
    }
    if (job.pid > 0) {
        kill(job.pid, SIGKILL);
        waitpid(job.pid, NULL, 0);
    }
    for (int i = 0; i < 2; i++)
        if (cgroup_fd[i] >= 0)
            rmdir(cgroup_path[i]);
    return 0;
}
