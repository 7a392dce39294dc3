/* llamaterm serve: an OpenAI-compatible HTTP API over one loaded model.
 * libmicrohttpd does the HTTP (one thread per connection, so /health
 * answers while a completion runs); src/serve.c turns requests into
 * replies. A streamed reply is generated on a thread of its own that writes
 * SSE frames into a pipe, which the response callback reads as they come;
 * a client that goes away closes the pipe, which stops the generation.
 * --parallel N gives N slots (contexts over the one model); SIGTERM lets
 * the running requests finish (a second signal, or SERVE_DRAIN_SECONDS,
 * cuts them short) while new ones get 503. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "context.h"
#include "model.h"
#include "options.h"
#include "serve.h"
#include "vocab.h"

/* Bodies above this are refused with 413. */
#define SERVE_MAX_BODY (1u << 20)
/* How long a stopping server waits for the requests in progress. */
#define SERVE_DRAIN_SECONDS 60

static void serve_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm serve -m MODEL [--host ADDR] [--port N] [--api-key KEY] [options]\n\n"
		     "Serves an OpenAI-compatible API: GET /health, GET /v1/models,\n"
		     "POST /v1/chat/completions and POST /v1/completions (\"stream\": true\n"
		     "for Server-Sent Events), and rllama's POST /rllama/v1/inference (JSONL).\n"
		     "--parallel N requests are generated at once; more wait for a slot up to\n"
		     "--slot-timeout seconds, then get 429. See llamaterm(1) for the fields.\n\n");
	options_print_help(out, OPTC_SERVE);
}

struct server {
	struct serve *serve;
	const char *api_key;
	atomic_int active; /* requests between their first call and their end */
};

/* One request: its body as it arrives, and for a stream the generation. */
struct request {
	struct server *srv;
	char *body;
	size_t len;
	bool too_big;
	double t0;
	char *method, *path; /* copies: MHD's are not ours to keep */
	/* streaming */
	int fds[2];
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, done; /* a frame was written; the generation ended */
	int n_cached;       /* res.n_cached as the first frame went out */
	struct serve_result res;
};

static void access_log(const char *method, const char *path, int status, int n_prompt, int n_gen,
		       double t0)
{
	fprintf(stderr, "%s %s %d prompt=%d gen=%d %.0fms\n", method, path, status, n_prompt,
		n_gen, (cli_now() - t0) * 1000);
}

static void access_log_res(const char *method, const char *path, const struct serve_result *res,
			   double t0)
{
	if (res->n_cached)
		fprintf(stderr, "%s %s %d prompt=%d cached=%d gen=%d %.0fms\n", method, path,
			res->status, res->n_prompt, res->n_cached, res->n_gen, (cli_now() - t0) * 1000);
	else
		access_log(method, path, res->status, res->n_prompt, res->n_gen, t0);
}

static int pipe_write(void *ud, const char *data, size_t len)
{
	struct request *r = ud;
	pthread_mutex_lock(&r->mu);
	if (!r->started)
		r->n_cached = r->res.n_cached; /* res is the generation's until it ends */
	r->started = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	while (len) {
		ssize_t n = write(r->fds[1], data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1; /* EPIPE: the client is gone */
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *stream_thread(void *arg)
{
	struct request *r = arg;
	serve_handle(r->srv->serve, r->method, r->path, r->body, r->len, pipe_write, r, &r->res);
	close(r->fds[1]);
	r->fds[1] = -1;
	pthread_mutex_lock(&r->mu);
	r->done = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* serve.c's probe of a reply that is not streamed: whether the client
 * closed its connection (a hang-up, or end of file where a request
 * would be read). */
static int conn_probe(void *ud, const char *data, size_t len)
{
	(void)data;
	(void)len;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(ud, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return 0;
	struct pollfd p = { .fd = ci->connect_fd, .events = POLLIN | POLLRDHUP };
	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return -1;
	char c;
	return recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ? -1 : 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct request *r = cls;
	for (;;) {
		ssize_t n = read(r->fds[0], buf, max);
		if (n > 0)
			return n;
		if (n < 0 && errno == EINTR)
			continue;
		return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void request_free(struct request *r)
{
	if (r->thread_started) {
		/* Closing the read end makes the generation's next write fail. */
		if (r->fds[0] >= 0)
			close(r->fds[0]);
		r->fds[0] = -1;
		pthread_join(r->thread, NULL);
		access_log_res(r->method, r->path, &r->res, r->t0);
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
	}
	if (r->fds[0] >= 0)
		close(r->fds[0]);
	if (r->fds[1] >= 0)
		close(r->fds[1]);
	free(r->res.body);
	free(r->body);
	free(r->method);
	free(r->path);
	atomic_fetch_sub(&r->srv->active, 1);
	free(r);
}

static void stream_done(void *cls)
{
	(void)cls; /* freed with the request (request_completed) */
}

/* The methods a known path takes, for a 405's Allow header. */
static const char *allowed_methods(const char *path)
{
	if (!strcmp(path, "/health") || !strcmp(path, "/v1/models"))
		return "GET";
	if (!strcmp(path, "/v1/chat/completions") || !strcmp(path, "/v1/completions") ||
	    !strcmp(path, "/rllama/v1/inference"))
		return "POST";
	return NULL;
}

static enum MHD_Result queue_json(struct MHD_Connection *conn, const char *path, int status,
				  char *body)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		body ? strlen(body) : 0, body ? body : "", body ? MHD_RESPMEM_MUST_FREE :
		MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED && allowed_methods(path))
		MHD_add_response_header(resp, "Allow", allowed_methods(path));
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A response that is not a completion's: logged at once. */
static enum MHD_Result reply_error(struct MHD_Connection *conn, struct request *r, int status,
				   const char *message)
{
	access_log(r->method, r->path, status, 0, 0, r->t0);
	return queue_json(conn, r->path, status, serve_error_body(status, message));
}

static bool authorized(struct MHD_Connection *conn, const char *key)
{
	if (!key)
		return true;
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	return h && !strncmp(h, "Bearer ", 7) && !strcmp(h + 7, key);
}

static enum MHD_Result start_stream(struct MHD_Connection *conn, struct request *r,
				    const char *content_type)
{
	if (pipe2(r->fds, O_CLOEXEC))
		return reply_error(conn, r, 500, "cannot create a pipe");
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->thread, NULL, stream_thread, r)) {
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		return reply_error(conn, r, 500, "cannot start a thread");
	}
	r->thread_started = true;
	/* Wait for the first frame: a request refused before it gets its
	 * error as plain JSON with the right status, not as a stream. */
	pthread_mutex_lock(&r->mu);
	while (!r->started && !r->done)
		pthread_cond_wait(&r->cv, &r->mu);
	bool started = r->started;
	int n_cached = r->n_cached;
	pthread_mutex_unlock(&r->mu);
	if (!started) {
		char *body = r->res.body;
		r->res.body = NULL;
		return queue_json(conn, r->path, r->res.status, body);
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
								     stream_read, r, stream_done);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", content_type);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	/* Known before the first frame (the prompt was evaluated). */
	char cached[16];
	snprintf(cached, sizeof(cached), "%d", n_cached);
	MHD_add_response_header(resp, "X-Cached-Tokens", cached);
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct server *srv = cls;
	struct request *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->srv = srv;
		atomic_fetch_add(&srv->active, 1);
		r->fds[0] = r->fds[1] = -1;
		r->t0 = cli_now();
		r->method = strdup(method);
		r->path = strdup(url);
		*con_cls = r;
		if (!r->method || !r->path)
			return MHD_NO;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->too_big && r->len + *upload_size <= SERVE_MAX_BODY) {
			char *p = realloc(r->body, r->len + *upload_size + 1);
			if (!p)
				return MHD_NO;
			memcpy(p + r->len, upload_data, *upload_size);
			r->body = p;
			r->len += *upload_size;
			r->body[r->len] = '\0';
		} else {
			r->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return reply_error(conn, r, 413, "the request body is larger than 1 MiB");
	if (!authorized(conn, srv->api_key))
		return reply_error(conn, r, 401, "a valid API key is needed (Authorization: Bearer KEY)");
	const char *type;
	if (!strcmp(method, "POST") && serve_wants_stream(url, r->body ? r->body : "", r->len, &type))
		return start_stream(conn, r, type);
	struct serve_result res;
	serve_handle(srv->serve, method, url, r->body, r->len, conn_probe, conn, &res);
	access_log_res(method, url, &res, r->t0);
	return queue_json(conn, url, res.status, res.body);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	if (*con_cls)
		request_free(*con_cls);
	*con_cls = NULL;
}

/* The model's name for /v1/models: the file name without .gguf. */
static char *model_id(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 5 && !strcmp(base + n - 5, ".gguf"))
		n -= 5;
	return strndup(base, n);
}

/* The key of --api-key-file: the file's first line without its line end
 * or surrounding blanks. Returns 0, or 2 after saying what is wrong. */
static int read_key_file(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "llamaterm serve: --api-key-file %s: %s\n", path, strerror(errno));
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	size_t start = 0, end = n > 0 ? (size_t)n : 0;
	while (end > 0 && strchr(" \t\r\n", line[end - 1]))
		end--;
	while (start < end && strchr(" \t", line[start]))
		start++;
	if (start == end) {
		fprintf(stderr, "llamaterm serve: --api-key-file %s: the first line holds no key\n", path);
		free(line);
		return 2;
	}
	memmove(line, line + start, end - start);
	line[end - start] = '\0';
	*out = line;
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct options o;
	options_defaults(&o);
	int rc = cli_parse(&o, argc, argv, OPTC_SERVE, "serve", serve_usage,
			   CLI_NO_ARGS | CLI_NEED_MODEL);
	if (rc >= 0)
		return rc;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o.port) };
	if (inet_pton(AF_INET, o.host, &addr.sin_addr) != 1) {
		fprintf(stderr, "llamaterm serve: --host '%s' is not an IPv4 address\n", o.host);
		return 2;
	}
	/* Block the stop signals in every thread; the main thread waits for them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct model *model = NULL;
	struct vocab *vocab = NULL;
	struct ctx **ctxs = NULL;
	int n_slots = o.parallel > 0 ? o.parallel : 1;
	double slot_timeout = 30;
	if (o.slot_timeout) {
		char *end;
		slot_timeout = strtod(o.slot_timeout, &end);
		if (end == o.slot_timeout || *end || !(slot_timeout >= 0 && slot_timeout <= 86400)) {
			fprintf(stderr, "llamaterm serve: --slot-timeout '%s' is not a number of seconds "
				"from 0 to 86400\n", o.slot_timeout);
			return 2;
		}
	}
	char *key_from_file = NULL;
	if (o.api_key_file && read_key_file(o.api_key_file, &key_from_file))
		return 2;
	struct serve *serve = NULL;
	struct MHD_Daemon *d = NULL;
	char err[512];
	char *name = model_id(o.model);
	rc = 1;
	if (!name || cli_open_model(&o, "serve", &model, &vocab))
		goto out;
	struct ctx_params cp;
	if (cli_ctx_params(&o, "serve", o.gen.n_ctx, o.n_batch, &cp)) {
		rc = 2;
		goto out;
	}
	struct serve_config sc = { .vocab = vocab, .model_name = name, .n_ctxs = n_slots,
				   .slot_timeout = slot_timeout, .template_name = o.template_name,
				   .defaults = o.gen };
	ctxs = calloc((size_t)n_slots, sizeof(*ctxs));
	if (!ctxs) {
		fprintf(stderr, "llamaterm serve: out of memory\n");
		goto out;
	}
	/* Every slot its own KV cache; the weights are mapped once. */
	for (int i = 0; i < n_slots; i++) {
		if (ctx_new(&ctxs[i], model, &cp, err, sizeof(err))) {
			fprintf(stderr, "llamaterm serve: %s\n", err);
			goto out;
		}
		/* The first request should not pay for the first reads. */
		if (ctx_warmup(ctxs[i])) {
			fprintf(stderr, "llamaterm serve: %s: %s\n", gguf_path(model_gguf(model)),
				ctx_error(ctxs[i]));
			goto out;
		}
	}
	sc.ctxs = ctxs;
	if (serve_new(&serve, &sc, err, sizeof(err))) {
		fprintf(stderr, "llamaterm serve: %s\n", err);
		goto out;
	}
	struct server srv = { .serve = serve,
			      .api_key = key_from_file ? key_from_file : o.api_key };
	atomic_init(&srv.active, 0);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
			     (uint16_t)o.port, NULL, NULL, on_request, &srv,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, 600u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "llamaterm serve: cannot listen on %s:%d: %s\n", o.host, o.port,
			strerror(errno));
		goto out;
	}
	fprintf(stderr, "llamaterm serve: %s on http://%s:%d (%d slot%s)\n", name, o.host, o.port,
		n_slots, n_slots == 1 ? "" : "s");
	int sig;
	sigwait(&stop, &sig);
	fprintf(stderr, "llamaterm serve: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	/* Drain: new requests get 503; those running finish and are sent. */
	serve_stop(serve);
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	for (int i = 0; i < SERVE_DRAIN_SECONDS * 20 && atomic_load(&srv.active) > 0; i++) {
		if (sigtimedwait(&stop, NULL, &tick) >= 0) {
			fprintf(stderr, "llamaterm serve: stopping now\n");
			break;
		}
	}
	rc = 0;
out:
	/* A reply in progress would hold MHD_stop_daemon until it ends. */
	if (serve)
		serve_abort(serve);
	if (d)
		MHD_stop_daemon(d);
	serve_free(serve);
	for (int i = 0; ctxs && i < n_slots; i++)
		ctx_free(ctxs[i]);
	free(ctxs);
	vocab_free(vocab);
	model_free(model);
	free(name);
	free(key_from_file);
	return rc;
}
