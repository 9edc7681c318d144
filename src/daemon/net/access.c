/*
 * access.c - the access file: its key kept or drawn, the file written
 * atomically, 0600. See access.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/net/access.h"

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int access_open_private(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* The key of the file there. 1: kept; 0: no file, or not a key in it
 * (a new one is drawn); -EPERM: not ours or readable by others. */
static int key_from_file(const char *path, unsigned char key[TLS_KEY_BYTES])
{
	char text[512] = { 0 }, *k;
	ssize_t n;
	int fd = access_open_private(path);

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0 || !(k = strstr(text, "\"key\":\"")))
		return 0;
	k += 7;
	for (size_t i = 0; i < TLS_KEY_BYTES; i++) {
		int hi = hex_value(k[2 * i]), lo = hi < 0 ? -1 : hex_value(k[2 * i + 1]);
		if (lo < 0)
			return 0;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return k[2 * TLS_KEY_BYTES] == '"';
}

static int write_all_synced(int fd, const char *text)
{
	size_t n = strlen(text);

	if (write(fd, text, n) != (ssize_t)n)
		return -EIO;
	return fsync(fd) < 0 ? -errno : 0;
}

/* The directory's entry made durable too. */
static void sync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	if (!dir[0])
		snprintf(dir, sizeof(dir), "/");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int write_atomically(const char *path, const char *text, mode_t mode)
{
	char tmp[4200];
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	rc = fchmod(fd, mode) < 0 ? -errno : write_all_synced(fd, text);
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	else
		sync_dir_of(path);
	return rc;
}

int access_file_write(const char *path, const char *host, uint16_t port,
		      unsigned char key[TLS_KEY_BYTES])
{
	char text[512], hex[2 * TLS_KEY_BYTES + 1];
	int rc = key_from_file(path, key);

	if (rc < 0)
		return rc;
	if (rc == 0 && getrandom(key, TLS_KEY_BYTES, 0) != (ssize_t)TLS_KEY_BYTES)
		return -EIO;
	for (size_t i = 0; i < TLS_KEY_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	if ((size_t)snprintf(text, sizeof(text), "{\"version\":1,\"server\":\"%s:%u\",\"identity\":"
			     "\"%s\",\"key\":\"%s\"}\n", host, port, TLS_PSK_IDENTITY, hex) >=
	    sizeof(text))
		return -ENAMETOOLONG;
	rc = write_atomically(path, text, 0600);
	explicit_bzero(text, sizeof(text));
	explicit_bzero(hex, sizeof(hex));
	return rc;
}

int access_munge_file_write(const char *path, const char *host, uint16_t port,
			    const char *fingerprint)
{
	char text[512];

	if ((size_t)snprintf(text, sizeof(text), "{\"version\":1,\"server\":\"%s:%u\",\"auth\":"
			     "\"munge\",\"certificate_sha256\":\"%s\"}\n", host, port,
			     fingerprint) >= sizeof(text))
		return -ENAMETOOLONG;
	return write_atomically(path, text, 0644);
}
