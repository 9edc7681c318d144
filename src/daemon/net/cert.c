/*
 * cert.c - the --munge listener's self-signed certificate, kept or made.
 * See cert.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "daemon/net/access.h"
#include "daemon/net/cert.h"

#define CERT_DAYS 36500	/* pinned by fingerprint: no expiry to manage */

void cert_fingerprint(X509 *cert, char out[CERT_FINGERPRINT_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (!X509_digest(cert, EVP_sha256(), md, &n))
		return;
	for (unsigned int i = 0; i < n && 2 * i + 2 < CERT_FINGERPRINT_HEX; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The key and certificate in the file at path. 1: kept; 0: no file;
 * -EPERM, -EBADMSG. */
static int keep(const char *path, EVP_PKEY **key, X509 **cert)
{
	int fd = access_open_private(path), rc = -EBADMSG;
	FILE *f;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		return -errno;
	}
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	*cert = *key ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	fclose(f);
	if (*cert && X509_check_private_key(*cert, *key) == 1)
		rc = 1;
	else {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	ERR_clear_error();
	return rc;
}

static X509 *self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
	unsigned char serial[16];

	if (!name || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;	/* positive */
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	if (!ok || !X509_set_version(x, 2) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"jobringd", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 60L * 60 * 24 * CERT_DAYS) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* Both into a new file 0600, renamed over path. */
static int save(const char *path, EVP_PKEY *key, X509 *cert)
{
	char tmp[4200];
	int fd, rc = 0;
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return -errno;
	if (!(f = fdopen(fd, "w"))) {
		close(fd);
		unlink(tmp);
		return -errno;
	}
	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || !PEM_write_X509(f, cert) ||
	    fflush(f) != 0 || fsync(fileno(f)) < 0)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int make(const char *path, EVP_PKEY **key, X509 **cert)
{
	int rc;

	if (!(*key = EVP_EC_gen("P-256")) || !(*cert = self_signed(*key)))
		rc = -ENOMEM;
	else
		rc = save(path, *key, *cert);
	if (rc < 0) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	ERR_clear_error();
	return rc;
}

int cert_keep_or_make(const char *path, EVP_PKEY **key, X509 **cert,
		      char fingerprint[CERT_FINGERPRINT_HEX])
{
	int rc;

	*key = NULL;
	*cert = NULL;
	if ((rc = keep(path, key, cert)) == 0)
		rc = make(path, key, cert);
	if (rc < 0)
		return rc;
	cert_fingerprint(*cert, fingerprint);
	return 0;
}
