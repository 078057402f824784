/*
 * shard.h -- --shard=i/n: which exporter of n serves an asset.
 *
 * An asset belongs to shard  FNV-1a-64(its 16 UUID bytes, in the order of the text
 * form) mod n. The hash depends on nothing but the id: every exporter of a fleet, on
 * any machine, version or restart, agrees on the split, and adding an asset never
 * moves another one. (Changing n moves most assets: restart all shards together.)
 * Pure functions; no state.
 */
#ifndef IOTPRO_EXPORTER_SHARD_H
#define IOTPRO_EXPORTER_SHARD_H

#include <stdint.h>

/* FNV-1a 64 over the 16 id bytes. */
uint64_t shard_hash(const uint8_t id[16]);
/* Shard of an asset among n (n 0 or 1: always 0). */
unsigned shard_of(const uint8_t id[16], unsigned n);
/* 1 when shard `index` of `count` serves the asset (count <= 1: always). */
int shard_mine(const uint8_t id[16], unsigned index, unsigned count);

#endif
