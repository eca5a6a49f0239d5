/* handlers/routes.h — the API's route table (handlers/routes.c). */
#pragma once

#include <stddef.h>

#include "handlers/router.h"

/* Every route in matching order: a heap array of *count routes (the caller frees it). */
struct route *api_routes_all(size_t *count);
