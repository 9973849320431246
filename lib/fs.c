/* stub */
#include "internal.h"
