/* The version and agent string auger announces. */
#ifndef AUGER_VERSION_H
#define AUGER_VERSION_H

#ifndef AG_VERSION
#define AG_VERSION "0.0.0"
#endif
#define AG_AGENT "auger/" AG_VERSION

#endif
