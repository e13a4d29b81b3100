/* Logging to stderr: one line per event, with time and level. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static int log_debug_on;

void
log_set_debug(int on)
{
	log_debug_on = on;
}

static void
log_vline(const char *level, const char *fmt, va_list ap)
{
	char msg[2048], ts[32];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* One fprintf per line: stdio locks, so lines never interleave. */
	fprintf(stderr, "%s.%03ldZ %s %s\n", ts, now.tv_nsec / 1000000, level,
	    msg);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("warn", fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_vline("debug", fmt, ap);
	va_end(ap);
}
