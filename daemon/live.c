/* The event ring (see live.h): one mutex, a loop event to wake listeners. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "log.h"

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static struct live_event ring[LIVE_RING];
static uint64_t		 last;
static struct event	*wake_ev;
static void		(*wake_fn)(void);

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (wake_fn != NULL)
		wake_fn();
}

int
live_start(struct event_base *base, void (*wake)(void))
{
	if ((wake_ev = event_new(base, -1, 0, wake_cb, NULL)) == NULL)
		return -1;
	wake_fn = wake;
	return 0;
}

void
live_stop(void)
{
	pthread_mutex_lock(&mu);
	if (wake_ev != NULL)
		event_free(wake_ev);
	wake_ev = NULL;
	wake_fn = NULL;
	pthread_mutex_unlock(&mu);
}

void
live_publish(const char *type, const char *env, const json_t *data)
{
	struct live_event *e;
	char *s;

	if ((s = json_dumps(data, JSON_COMPACT)) == NULL)
		return;
	if (strlen(s) >= LIVE_DATA_MAX) {
		log_warn("live: a %s event of %s is %zu bytes; not sent", type,
		    env, strlen(s));
		free(s);
		return;
	}
	pthread_mutex_lock(&mu);
	last++;
	e = &ring[last % LIVE_RING];
	e->seq = last;
	snprintf(e->type, sizeof e->type, "%s", type);
	snprintf(e->env, sizeof e->env, "%s", env);
	memcpy(e->data, s, strlen(s) + 1);
	/* Thread-safe (evthread_use_pthreads); repeated calls fold in one. */
	if (wake_ev != NULL)
		event_active(wake_ev, EV_READ, 0);
	pthread_mutex_unlock(&mu);
	free(s);
}

int
live_next(struct live_event *e, uint64_t after)
{
	uint64_t want;
	int r = 0;

	pthread_mutex_lock(&mu);
	if (after < last) {
		want = after + 1;
		if (last - after > LIVE_RING)
			want = last - LIVE_RING + 1;
		*e = ring[want % LIVE_RING];
		r = 1;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

uint64_t
live_last(void)
{
	uint64_t v;

	pthread_mutex_lock(&mu);
	v = last;
	pthread_mutex_unlock(&mu);
	return v;
}
