/* The pack format's entry types (git's Documentation/gitformat-pack). */
#ifndef AUGER_PACKFMT_H
#define AUGER_PACKFMT_H

#define OBJ_COMMIT	1
#define OBJ_TREE	2
#define OBJ_BLOB	3
#define OBJ_TAG		4
#define OBJ_OFS_DELTA	6
#define OBJ_REF_DELTA	7

#endif
