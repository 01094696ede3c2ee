#include <mongoc.h>
