/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmuwork: guest workloads with known answers for the MMU (shadow paging
 * above all), for the L2 Linux of the qemu-workloads scenario (copied into
 * L2's initramfs as /usr/bin/mmuwork).
 *
 *   mmuwork spawn N W      W worker processes run at once; between them
 *                          they fork and exec N children ("mmuwork child K",
 *                          K = 1..N, each a fresh address space that fills
 *                          and sums 32 pages of its own) and read each
 *                          child's answer through a pipe.  Prints
 *                          "MMUWORK spawn procs=<children that answered
 *                          and exited 0> sum=<hex sum of the answers>".
 *   mmuwork sparse T P W   T threads (one address space) write one 4 KiB
 *                          page every 2 MiB of a 2 MiB * T-aligned region,
 *                          T touches in all: every touch needs a guest
 *                          page table of its own, so more guest page tables
 *                          than a small shadow cache holds.  Then P passes
 *                          read every page back, check it and rewrite it.
 *                          W threads share the work.  Prints "MMUWORK
 *                          sparse pages=<T> bad=<mismatches> sum=<hex>".
 *
 * The sums depend only on the arguments (the rig compares them with
 * constants, and ours with the reference); exit 0 when every step ran,
 * 1 with a message when one failed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE		4096UL
#define STRIDE		(2UL << 20)	/* one guest page table maps 2 MiB */
#define CHILD_PAGES	32

static uint64_t mix(uint64_t x)	/* splitmix64's finaliser */
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int die(const char *what)
{
	fprintf(stderr, "mmuwork: %s: %s\n", what, strerror(errno));
	return 1;
}

/* The child: fills CHILD_PAGES fresh pages (one word per 512 bytes) and
 * sums them back; the answer goes to stdout. */
static int child(long k)
{
	uint64_t *mem, sum = 0;
	size_t words = CHILD_PAGES * PAGE / sizeof(uint64_t), i;

	mem = mmap(NULL, CHILD_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return die("child mmap");
	for (i = 0; i < words; i += 64)
		mem[i] = mix((uint64_t)k * 4096 + i);
	for (i = 0; i < words; i += 64)
		sum += mem[i];
	printf("%llu\n", (unsigned long long)sum);
	return fflush(stdout) ? 1 : 0;
}

/* One spawn worker: children first..n step by step; returns through fd out
 * "<procs> <sum>". */
static int spawn_worker(const char *self, long first, long n, long step, int out)
{
	long k, procs = 0;
	uint64_t sum = 0;
	char arg[32], buf[64];

	for (k = first; k <= n; k += step) {
		int p[2], status;
		ssize_t got = 0, r;
		pid_t pid;

		if (pipe(p))
			return die("pipe");
		snprintf(arg, sizeof(arg), "%ld", k);
		pid = fork();
		if (pid < 0)
			return die("fork");
		if (pid == 0) {
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
			execl(self, self, "child", arg, (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		while ((r = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
			got += r;
		close(p[0]);
		buf[got] = 0;
		if (waitpid(pid, &status, 0) != pid)
			return die("waitpid");
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && got > 0) {
			procs++;
			sum += strtoull(buf, NULL, 10);
		} else if (k - first < 5 * step) {	/* the first few only */
			fprintf(stderr, "mmuwork: child %ld: status %#x, %zd bytes\n",
				k, status, got);
		}
	}
	snprintf(buf, sizeof(buf), "%ld %llu\n", procs, (unsigned long long)sum);
	return write(out, buf, strlen(buf)) == (ssize_t)strlen(buf) ? 0 : die("write");
}

static int spawn(const char *self, long n, long workers)
{
	long w, procs = 0;
	uint64_t sum = 0;
	int p[2], bad = 0;

	if (pipe(p))
		return die("pipe");
	for (w = 0; w < workers; w++) {
		pid_t pid = fork();

		if (pid < 0)
			return die("fork");
		if (pid == 0) {
			close(p[0]);
			_exit(spawn_worker(self, w + 1, n, workers, p[1]));
		}
	}
	close(p[1]);
	for (w = 0; w < workers; w++) {
		int status;

		if (wait(&status) < 0)
			return die("wait");
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	}
	{
		FILE *f = fdopen(p[0], "r");
		long wp;
		unsigned long long ws;

		while (f && fscanf(f, "%ld %llu", &wp, &ws) == 2) {
			procs += wp;
			sum += ws;
		}
	}
	printf("MMUWORK spawn procs=%ld sum=%016llx\n", procs, (unsigned long long)sum);
	return bad;
}

struct sparse {
	char *base;
	long pages, passes, workers, id;
	long bad;
	uint64_t sum;
	pthread_barrier_t *barrier;
};

static uint64_t *sparse_word(struct sparse *s, long i)
{
	/* a different offset in each page, so not always the first line */
	return (uint64_t *)(s->base + i * STRIDE + (i % 512) * 8);
}

static void *sparse_thread(void *arg)
{
	struct sparse *s = arg;
	long i, pass;

	for (i = s->id; i < s->pages; i += s->workers)
		*sparse_word(s, i) = mix(i);
	for (pass = 1; pass <= s->passes; pass++) {
		pthread_barrier_wait(s->barrier);
		/* each pass checks pages another thread wrote last */
		for (i = (s->id + pass) % s->workers; i < s->pages; i += s->workers) {
			uint64_t *w = sparse_word(s, i);

			if (*w != mix(i + (pass - 1) * s->pages))
				s->bad++;
			*w = mix(i + pass * s->pages);
		}
	}
	pthread_barrier_wait(s->barrier);
	for (i = s->id; i < s->pages; i += s->workers)
		s->sum += *sparse_word(s, i);
	return NULL;
}

static int sparse(long pages, long passes, long workers)
{
	struct sparse s[64];
	pthread_t tid[64];
	pthread_barrier_t barrier;
	size_t len = pages * STRIDE + STRIDE;
	char *map, *base;
	long w, bad = 0;
	uint64_t sum = 0;

	if (workers < 1 || workers > 64 || pages < 1)
		return fprintf(stderr, "mmuwork: sparse: bad arguments\n"), 1;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return die("mmap");
	base = (char *)(((uintptr_t)map + STRIDE - 1) & ~(STRIDE - 1));
	/* no transparent huge pages: each touch must be one 4 KiB page */
	madvise(map, len, MADV_NOHUGEPAGE);
	pthread_barrier_init(&barrier, NULL, workers);
	for (w = 0; w < workers; w++) {
		s[w] = (struct sparse){ .base = base, .pages = pages, .passes = passes,
					.workers = workers, .id = w, .barrier = &barrier };
		if (pthread_create(&tid[w], NULL, sparse_thread, &s[w]))
			return die("pthread_create");
	}
	for (w = 0; w < workers; w++) {
		pthread_join(tid[w], NULL);
		bad += s[w].bad;
		sum += s[w].sum;
	}
	munmap(map, len);
	printf("MMUWORK sparse pages=%ld bad=%ld sum=%016llx\n", pages, bad,
	       (unsigned long long)sum);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "child"))
		return child(atol(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "spawn"))
		return spawn("/proc/self/exe", atol(argv[2]), atol(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "sparse"))
		return sparse(atol(argv[2]), atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: mmuwork spawn N WORKERS | sparse PAGES PASSES THREADS\n");
	return 2;
}
