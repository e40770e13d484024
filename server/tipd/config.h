/* config: tipd's INI configuration (being written). */
#ifndef TIPD_CONFIG_H
#define TIPD_CONFIG_H
struct tipd_config;
#endif
