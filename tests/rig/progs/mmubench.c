/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmubench: two guest workloads that lean on the MMU, for the L2 Linux of
 * the shadow-bench scenario (it is copied into L2's initramfs).
 *
 *   mmubench pipe N        two processes pass one byte back and forth
 *                          through a pair of pipes N times: every hop is a
 *                          context switch, so an address-space (CR3) switch
 *   mmubench spawn N PATH  fork, exec PATH (no arguments), wait, N times
 *
 * Prints "MMUBENCH <name> <ns per op> <ops>" (CLOCK_MONOTONIC of the guest)
 * and exits 0; exits 1 with a message when a step fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int die(const char *what)
{
	fprintf(stderr, "mmubench: %s: %s\n", what, strerror(errno));
	return 1;
}

static int pipe_pingpong(long n)
{
	int ab[2], ba[2], status;
	long i;
	char c = 'x';
	long long t0, t1;
	pid_t pid;

	if (pipe(ab) || pipe(ba))
		return die("pipe");
	pid = fork();
	if (pid < 0)
		return die("fork");
	if (pid == 0) {
		for (i = 0; i < n; i++) {
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			return die("pipe round trip");
	}
	t1 = now_ns();
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return die("child");
	printf("MMUBENCH pipe %lld %ld\n", (t1 - t0) / n, n);
	return 0;
}

static int spawn(long n, const char *path)
{
	long i;
	long long t0, t1;
	int status;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return die("fork");
		if (pid == 0) {
			execl(path, path, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid)
			return die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "mmubench: %s exited with status %#x\n", path, status);
			return 1;
		}
	}
	t1 = now_ns();
	printf("MMUBENCH spawn %lld %ld\n", (t1 - t0) / n, n);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? strtol(argv[2], NULL, 0) : 0;

	if (argc == 3 && !strcmp(argv[1], "pipe") && n > 0)
		return pipe_pingpong(n);
	if (argc == 4 && !strcmp(argv[1], "spawn") && n > 0)
		return spawn(n, argv[3]);
	fprintf(stderr, "usage: mmubench pipe N | mmubench spawn N PATH\n");
	return 2;
}
