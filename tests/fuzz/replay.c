/*
 * Replays a saved fuzz corpus through a libFuzzer entry point, so that every
 * input the fuzzer ever found interesting runs in the normal test suite.
 * Each input is handed over in a heap block of exactly its size, so that
 * AddressSanitizer sees a read one byte past its end; a corpus file larger
 * than REPLAY_MAX is refused (the run fails), never silently cut.
 * Usage: replay_fuzz_X DIR_OR_FILE...
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* libFuzzer's -max_len in scripts/fuzz stays below this. */
#define REPLAY_MAX (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read all of `path` into an exact-size block; return it, or NULL. */
static uint8_t *
replay_read(const char *path, size_t *len)
{
	uint8_t *data = NULL;
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto fail;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > REPLAY_MAX) {
		fprintf(stderr, "%s: %lld bytes, more than the %u a corpus file may hold\n", path,
		        (long long)st.st_size, REPLAY_MAX);
		goto fail;
	}
	*len = (size_t)st.st_size;
	/* malloc(0) may answer NULL: an empty input still gets its own block. */
	if ((data = malloc(*len > 0 ? *len : 1)) == NULL)
		goto fail;
	if (fread(data, 1, *len, f) != *len || fgetc(f) != EOF) {
		fprintf(stderr, "%s: changed size while being read\n", path);
		goto fail;
	}
	fclose(f);
	return data;
fail:
	free(data);
	if (f != NULL)
		fclose(f);
	return NULL;
}

static int
replay_file(const char *path)
{
	size_t len = 0;
	uint8_t *data = replay_read(path, &len);
	if (data == NULL)
		return -1;
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int
replay_dir(const char *dir, int *ran)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		perror(dir);
		return -1;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(path) || replay_file(path) != 0) {
			closedir(d);
			return -1;
		}
		(*ran)++;
	}
	closedir(d);
	return 0;
}

int
main(int argc, char **argv)
{
	int ran = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &ran) != 0)
				return 1;
		} else {
			if (replay_file(argv[i]) != 0)
				return 1;
			ran++;
		}
	}
	printf("replayed %d inputs\n", ran);
	return ran > 0 ? 0 : 1;
}
