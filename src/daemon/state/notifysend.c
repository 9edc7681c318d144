/*
 * notifysend.c - notifications delivered by a few threads. See
 * notifysend.h.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/state/notifysend.h"
#include "daemon/state/notifyspec.h"

struct notify_sender {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct notify_task *todo, **todo_tail;
	struct notify_task *done;
	bool stop;			/* under lock: no more tasks are taken */
	_Atomic bool stopping;		/* what is under way gives up (a restart resends it) */
	int event_fd;
	char *key;
	size_t key_len;
	pthread_t threads[NOTIFY_SENDER_THREADS];
	unsigned started;
};

void notify_task_free(struct notify_task *t)
{
	if (!t)
		return;
	free(t->target);
	free(t->payload);
	free(t);
}

void notify_sign(const char *key, size_t key_len, const char *body, size_t len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)body, len, mac, &n);
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	out[64] = '\0';
}

/* --- a webhook ------------------------------------------------------------------------ */

static size_t discard_body(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static struct curl_slist *webhook_headers(const struct notify_sender *s,
					  const struct notify_task *t)
{
	char sig[65], line[160];
	struct curl_slist *h = NULL;

	notify_sign(s->key, s->key_len, t->payload, strlen(t->payload), sig);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	snprintf(line, sizeof(line), "X-Jobring-Event: %s", notify_event_name(t->event));
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Jobring-Delivery: %016llx",
		 (unsigned long long)t->delivery_id);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Jobring-Signature: sha256=%s", sig);
	return curl_slist_append(h, line);
}

/* The daemon is stopping: a transfer under way ends now. */
static int transfer_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const struct notify_sender *s = ctx;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&s->stopping) ? 1 : 0;
}

/* POST once: no redirect followed, http and https only. */
static void send_webhook(const struct notify_sender *s, CURL *c, struct notify_task *t)
{
	struct curl_slist *h = webhook_headers(s, t);
	long status = 0;
	CURLcode rc;

	curl_easy_setopt(c, CURLOPT_URL, t->target);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, NOTIFY_HTTP_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "jobringd");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(t->payload));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, transfer_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)s);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	t->ok = rc == CURLE_OK && status >= 200 && status < 300;
	if (rc != CURLE_OK)
		snprintf(t->error, sizeof(t->error), "%s", curl_easy_strerror(rc));
	else if (!t->ok)
		snprintf(t->error, sizeof(t->error), "HTTP %ld", status);
}

/* --- a command ------------------------------------------------------------------------ */

/* argv from the target's JSON array; NULL if it does not read. */
static char **command_argv(const char *json)
{
	cJSON *a = cJSON_Parse(json), *v;
	char **argv = NULL;
	size_t n = 0;

	if (cJSON_IsArray(a) && (argv = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*argv))))
		cJSON_ArrayForEach(v, a)
			if (!cJSON_IsString(v) || !(argv[n++] = strdup(v->valuestring)))
				break;
	cJSON_Delete(a);
	return argv;
}

static void strv_free_all(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* In the child: only async-signal-safe calls. */
static void command_child(const struct notify_task *t, int in, char **argv, char **envp)
{
	sigset_t none;
	int null = open("/dev/null", O_RDWR);
	gid_t gid = t->gid;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigaction(SIGPIPE, &dfl, NULL);
	if (dup2(in, 0) < 0 || null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(126);
	if (t->switch_user &&
	    (setgroups(1, &gid) < 0 || setgid(t->gid) < 0 || setuid(t->uid) < 0))
		_exit(126);
	if (getuid() != t->uid && t->switch_user)
		_exit(126);
	if (chdir("/") < 0)
		_exit(126);
	close_range(3, ~0u, 0);
	execve(argv[0], argv, envp);
	_exit(127);
}

/* Until it exits, or the timeout or the daemon's stop (then killed).
 * Its wait status, or -1. */
static int wait_child(const struct notify_sender *s, pid_t pid)
{
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	int status;

	for (unsigned i = 0; i < NOTIFY_COMMAND_TIMEOUT_S * 200u && !atomic_load(&s->stopping);
	     i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		nanosleep(&nap, NULL);
	}
	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid ? status : -1;
}

static void run_command(const struct notify_sender *s, struct notify_task *t)
{
	char **argv = command_argv(t->target);
	char env[4][96], *envp[5];
	int fd[2], status;
	pid_t pid;

	snprintf(env[0], sizeof(env[0]), "PATH=/usr/local/bin:/usr/bin:/bin");
	snprintf(env[1], sizeof(env[1]), "JOBRING_DELIVERY=%016llx",
		 (unsigned long long)t->delivery_id);
	snprintf(env[2], sizeof(env[2]), "JOBRING_EVENT=%s", notify_event_name(t->event));
	snprintf(env[3], sizeof(env[3]), "JOBRING_JOB_ID=%016llx", (unsigned long long)t->job_id);
	for (int i = 0; i < 4; i++)
		envp[i] = env[i];
	envp[4] = NULL;
	if (!argv || !argv[0] || pipe2(fd, O_CLOEXEC) < 0) {
		snprintf(t->error, sizeof(t->error), "cannot start the command");
		strv_free_all(argv);
		return;
	}
	pid = fork();
	if (pid == 0)
		command_child(t, fd[0], argv, envp);
	close(fd[0]);
	if (pid > 0)	/* a short write: it did not read; its exit status says the rest */
		(void)!write(fd[1], t->payload, strlen(t->payload));
	close(fd[1]);
	status = pid > 0 ? wait_child(s, pid) : -1;
	strv_free_all(argv);
	t->ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (pid < 0)
		snprintf(t->error, sizeof(t->error), "fork: %s", strerror(errno));
	else if (!t->ok && status >= 0 && WIFEXITED(status))
		snprintf(t->error, sizeof(t->error), "the command exited %d", WEXITSTATUS(status));
	else if (!t->ok)
		snprintf(t->error, sizeof(t->error), "the command was killed (signal %d)",
			 status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* --- the threads ---------------------------------------------------------------------- */

static struct notify_task *next_task(struct notify_sender *s)
{
	struct notify_task *t;

	pthread_mutex_lock(&s->lock);
	while (!s->todo && !s->stop)
		pthread_cond_wait(&s->cv, &s->lock);
	t = s->todo;
	if (t && !(s->todo = t->next))
		s->todo_tail = &s->todo;
	pthread_mutex_unlock(&s->lock);
	return t;
}

static void *sender_main(void *arg)
{
	struct notify_sender *s = arg;
	CURL *c = curl_easy_init();
	struct notify_task *t;
	uint64_t one = 1;
	sigset_t pipe_only;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
	while ((t = next_task(s)) != NULL) {
		t->ok = false;
		t->error[0] = '\0';
		if (t->kind == NOTIFY_COMMAND)
			run_command(s, t);
		else if (c)
			send_webhook(s, c, t);
		else
			snprintf(t->error, sizeof(t->error), "no curl handle");
		pthread_mutex_lock(&s->lock);
		t->next = s->done;
		s->done = t;
		pthread_mutex_unlock(&s->lock);
		(void)!write(s->event_fd, &one, sizeof(one));	/* fails only when readable */
	}
	curl_easy_cleanup(c);
	return NULL;
}

int notify_sender_start(struct notify_sender **out, const char *key, size_t key_len)
{
	struct notify_sender *s = calloc(1, sizeof(*s));

	if (!s || !(s->key = malloc(key_len + 1))) {
		free(s);
		return -ENOMEM;
	}
	memcpy(s->key, key, key_len);
	s->key_len = key_len;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->todo_tail = &s->todo;
	s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->event_fd < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		notify_sender_stop(s);
		return -EIO;
	}
	for (; s->started < NOTIFY_SENDER_THREADS; s->started++)
		if (pthread_create(&s->threads[s->started], NULL, sender_main, s) != 0)
			break;
	if (!s->started) {
		notify_sender_stop(s);
		return -EAGAIN;
	}
	*out = s;
	return 0;
}

static void free_list(struct notify_task *t)
{
	while (t) {
		struct notify_task *next = t->next;
		notify_task_free(t);
		t = next;
	}
}

void notify_sender_stop(struct notify_sender *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	free_list(s->todo);	/* still queued in the outbox: sent after a restart */
	s->todo = NULL;
	s->todo_tail = &s->todo;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->started; i++)
		pthread_join(s->threads[i], NULL);
	free_list(s->done);
	if (s->event_fd >= 0)
		close(s->event_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cv);
	free(s->key);
	free(s);
}

int notify_sender_event_fd(const struct notify_sender *s)
{
	return s->event_fd;
}

void notify_sender_push(struct notify_sender *s, struct notify_task *t)
{
	t->next = NULL;
	pthread_mutex_lock(&s->lock);
	*s->todo_tail = t;
	s->todo_tail = &t->next;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->lock);
}

struct notify_task *notify_sender_take(struct notify_sender *s)
{
	struct notify_task *t;
	uint64_t v;

	if (read(s->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return NULL;
	pthread_mutex_lock(&s->lock);
	t = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->lock);
	return t;
}
