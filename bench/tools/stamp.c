/* stamp: records "PID NANOSECONDS" (CLOCK_MONOTONIC) as one line appended to
 * LOG, then execs CMD (same pid). Without CMD it only records and exits 0.
 *
 *   stamp LOG [CMD [ARG]...]
 *
 * The clock is read before anything else, so the stamp is the moment this
 * process started running its own code: for `exec stamp ...` as the first
 * command of a shell script, the moment the script reached its first line.
 * The benchmark driver reads CLOCK_MONOTONIC too, right before kill(2), so
 * both ends of a measurement use the same clock. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (argc < 2) {
        fputs("usage: stamp LOG [CMD [ARG]...]\n", stderr);
        return 2;
    }
    char line[64];
    int n = snprintf(line, sizeof line, "%d %lld\n", (int)getpid(),
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    /* One write(2) with O_APPEND: lines from concurrent writers never mix. */
    int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, line, (size_t)n) != n)
            perror("stamp: write");
        close(fd);
    } else {
        perror("stamp: open");
    }
    if (argc == 2)
        return 0;
    execvp(argv[2], argv + 2);
    perror("stamp: exec");
    return 127;
}
