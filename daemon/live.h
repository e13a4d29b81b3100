/*
 * What changed, as it happens: the release service publishes an event for
 * every release, rollback, delete and Flux verdict (any thread); the loop
 * hands them to whoever listens (the dashboard's Server-Sent Events). A
 * ring of the newest events lets a listener that reconnects catch up.
 */
#ifndef DAEMON_LIVE_H
#define DAEMON_LIVE_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#define LIVE_RING	256	/* events kept for listeners catching up */
#define LIVE_DATA_MAX	2048	/* bytes of one event's JSON */

struct live_event {
	uint64_t	 seq;		/* 1, 2, ...: the SSE id */
	char		 type[16];	/* "release", "status" */
	char		 env[64];
	char		 data[LIVE_DATA_MAX];	/* JSON, one line */
};

/* wake runs on the loop after events were published. */
int	live_start(struct event_base *base, void (*wake)(void));
void	live_stop(void);
/* Any thread. data: a JSON object with at most LIVE_DATA_MAX bytes. */
void	live_publish(const char *type, const char *env, const json_t *data);
/*
 * The oldest kept event after seq into *e: 1, or 0 when there is none.
 * A listener that fell more than LIVE_RING behind skips what was lost.
 */
int	live_next(struct live_event *e, uint64_t after);
/* The newest seq published (0: none yet). */
uint64_t live_last(void);

#endif
