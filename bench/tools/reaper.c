/* reaper: runs CMD as a child subreaper (PR_SET_CHILD_SUBREAPER) and reaps
 * every orphan re-parented to it at once, until CMD exits; exits with CMD's
 * status. SIGTERM/SIGINT are forwarded to CMD.
 *
 *   reaper CMD [ARG]...
 *
 * Why: monit double-forks its start programs, so the supervised job is an
 * orphan whose exit is reaped by PID 1. On this sandbox PID 1 is not a real
 * init and reaps late (~1-2 s), and monit treats the zombie as "still there".
 * Under a prompt reaper monit sees what it would see under systemd or
 * sysvinit. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;

static void forward(int sig) {
    if (child_pid > 0)
        kill(child_pid, sig);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: reaper CMD [ARG]...\n", stderr);
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("reaper: prctl");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("reaper: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror("reaper: exec");
        _exit(127);
    }
    child_pid = pid;
    struct sigaction sa = {0};
    sa.sa_handler = forward;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (;;) {
        int status;
        pid_t got = wait(&status);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return 1; /* ECHILD: nothing left */
        }
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}
