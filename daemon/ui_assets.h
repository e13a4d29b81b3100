/* The dashboard's embedded assets (scripts/embed.sh makes the table). */
#ifndef DAEMON_UI_ASSETS_H
#define DAEMON_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
	const char		*name;	/* "auger.css" */
	const unsigned char	*data;
	size_t			 len;
};

/* Ends with a NULL name. */
extern const struct ui_asset ui_assets[];

#endif
