/*
 * shards.h — several catalogs (agency or year shards, as `sohoa run
 * --shard` and `sohoa merge` make them) searched as one.
 *
 * A search over shards runs sh_search on each with the same BM25
 * statistics, summed over all of them (pages, their tokens, and per group
 * of the query the pages holding it), so a page scores as it would in the
 * merged catalog; the shards' ranked hits are then merged in sh_search's
 * order (tier, then score) and their totals summed.
 *
 * Use:
 *     sh_hits hits;
 *     rc = sh_search_shards(dbs, n, names, &q, &hits, &err);
 *     ... hits.h[i].shard says which catalog a hit comes from ...
 *     sh_hits_release(&hits);
 */
#ifndef SH_SHARDS_H
#define SH_SHARDS_H

#include "index.h"

/* Catalogs a command searches together, at most. */
#define SH_SHARDS_MAX 64

/* What BM25 reads of a catalog for one query (rank.c). */
typedef struct sh_search_stats {
    int64_t rows;            /* pages in the full-text index             */
    int64_t tokens;          /* tokens in them (for the average length)  */
    int ngroups;             /* groups of the query (words, "phrases")   */
    double df[SH_QUERY_MAX_TOKENS]; /* per group: pages holding it, as
                                sh_search counts them (exact up to 500
                                pages, then extrapolated over the ids)   */
    double df_phrase;        /* the same for the query as typed as one
                                phrase (ranked first past 1000 matches)  */
} sh_search_stats;

/* This catalog's statistics for the user's text (NULL = none).  out is
   zeroed first.  Returns SH_OK, SH_ENOMEM or SH_EINDEX. */
int sh_search_stats_get(sqlite3 *db, const char *text, sh_search_stats *out,
                        sh_err *err);
/* Add one catalog's statistics to sum (start from a zeroed sum). */
void sh_search_stats_add(sh_search_stats *sum, const sh_search_stats *one);

/* Search n catalogs (n >= 1) as one: q as for sh_search (q->stats, when
   given, is used as is; else the shards' are summed here).  names
   [optional]: the catalogs' warehouses, for error messages.  out: hits
   in order, each with .shard = its catalog's index; total the shards'
   summed, approx if any is.  Returns as sh_search; an error names the
   shard.
   Notes: ties (same tier and score) come in the order `sohoa merge
   --into M` of the same shards, in the same order, into an empty
   warehouse gives them (its page ids: shard by shard, dossiers by id,
   pages by number; sh_search breaks ties newest id first): later shard
   first, then dossier id, then page, both descending.  The result equals
   the merged catalog's when the query matches at most 1000 pages in all
   and each of its words is on fewer than 500 pages; past that both rank
   by blocks and estimate frequencies, each over its own ids, so the order
   and the (approximate) totals may differ.  n = 1 without q->stats is
   sh_search itself. */
int sh_search_shards(sqlite3 *const *dbs, int n, const char *const *names,
                     const sh_query *q, sh_hits *out, sh_err *err);

/* SH_OK when the n warehouse folders are n different folders (compared
   as real paths); else SH_EUSAGE, err naming the one given twice.  A
   folder searched twice as two shards would count its pages twice. */
int sh_shards_distinct(const char *const *whs, int n, sh_err *err);

#endif
