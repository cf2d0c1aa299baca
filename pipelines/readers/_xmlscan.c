/*
 * Native tokenizer for NAACCR XML laid out one element per line (see xml_bulk.py).
 *
 * Why native: the per-line work of the fast path (recognise the tag, cut out naaccrId and value,
 * decode the five predefined entities, track Patient/Tumor nesting) is a few comparisons per byte;
 * in Python or SQL it costs 20-30 times more than the bytes take to read. This scanner does exactly the
 * grammar of the DuckDB fast path and returns None for anything outside it, so the caller can fall
 * back. It never reads outside the buffer it is given and never allocates per item.
 *
 * scan_block(layouts: Layouts, data: bytes, line_base: int, patient_base: int, tumor_base: int,
 *            dictionary: tuple[tuple[str, int, int, int, int, bool, bool], ...],
 *            patient_columns: tuple[str, ...], tumor_columns: tuple[str, ...])
 *   -> None (the block is outside the grammar), or a tuple:
 *      (ids: list[str], entity_kind u8, entity_patient i32, entity_tumor i32, entity_line i64,
 *       last_patient, last_tumor, root_closed, lines, patients, tumors, problems)
 *   every array returned as bytes in native byte order. `patients` and `tumors` are each the records of
 *   that level, already in the shapes the loader keeps (pipelines/staging.py):
 *      (seq i32, patient i32, line i64, has_items u8, layout i32,
 *       values_offsets i32[n+1], values_bytes,
 *       [(offsets i32[n+1], bytes, present u8) for each requested column], new_layouts: list[str])
 *   values are the record's decoded values in the order read, joined with U+001F (the store's packed
 *   lossless layout); `layout` numbers the record's list of naaccrIds in that order (its layout: -1 for a
 *   record without items) 0, 1, ... in the order first met in the file, and `new_layouts` holds the
 *   layouts first met in this block, in that order, as naaccrIds joined with U+001F. The Layouts object
 *   (one per file, passed to every block) keeps the layouts met so far, each as a sequence of interned
 *   ids in a hash table, so a record's layout costs a hash of its ids' numbers, never a text; ids are
 *   interned there too, so `ids` (the naaccrIds met so far, indexed by `problems`) grow across blocks.
 *   A block outside the grammar leaves the Layouts as they were before it. The columns are the
 *   requested items' values, one per record (the typed core's wide rows). The dictionary gives per item (naaccrId, naaccrNum, level 1/2/0,
 *   length, type code: digits, alpha, mixed, numeric, date, dateTime = 0..5, else -1; full length; in
 *   the file's record type); every item is checked here as pipelines/validation.py checks it, and
 *   `problems` holds the items that break a rule: (conditions u8 (bits, see item_rules), patient i32,
 *   tumor i32, line i64, id i32 (into ids), naaccrNum i32 (-1 none), value_offsets i32[n+1], value_bytes).
 *   Building records and checks here saves Python a gather per item: it never sees an item.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buf;

static int buf_put(Buf *b, const void *src, Py_ssize_t n) {
    if (b->len + n > b->cap) {
        Py_ssize_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *p = realloc(b->data, (size_t)cap);
        if (!p) return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

#define MAX_IDS 8192
#define MAX_ID_LEN 64

typedef struct {
    int count;
    int table[MAX_IDS * 2];           /* open addressing: index+1, 0 = empty */
    char names[MAX_IDS][MAX_ID_LEN + 1];
    int lens[MAX_IDS];
} Ids;

static int intern(Ids *ids, const char *s, int n) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    uint32_t slot = h % (MAX_IDS * 2);
    for (;;) {
        int v = ids->table[slot];
        if (v == 0) break;
        if (ids->lens[v - 1] == n && memcmp(ids->names[v - 1], s, (size_t)n) == 0) return v - 1;
        slot = (slot + 1) % (MAX_IDS * 2);
    }
    if (ids->count >= MAX_IDS) return -1;
    int index = ids->count++;
    memcpy(ids->names[index], s, (size_t)n);
    ids->names[index][n] = 0;
    ids->lens[index] = n;
    ids->table[slot] = index + 1;
    return index;
}

static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_alnum(unsigned char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

static int equals(const char *s, Py_ssize_t n, const char *literal) {
    Py_ssize_t m = (Py_ssize_t)strlen(literal);
    return n == m && memcmp(s, literal, (size_t)m) == 0;
}

/* Decode the value into out; returns 0, or -1 when the value is outside the grammar. */
static int put_value(Buf *out, const char *v, Py_ssize_t n) {
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 && c != '\t') return -1;          /* control characters and CR: general reader */
        if (c != '&') continue;
        if (buf_put(out, v + start, i - start)) return -2;
        const char *rest = v + i;
        Py_ssize_t left = n - i;
        char decoded;
        Py_ssize_t used;
        if (left >= 4 && memcmp(rest, "&lt;", 4) == 0) { decoded = '<'; used = 4; }
        else if (left >= 4 && memcmp(rest, "&gt;", 4) == 0) { decoded = '>'; used = 4; }
        else if (left >= 5 && memcmp(rest, "&amp;", 5) == 0) { decoded = '&'; used = 5; }
        else if (left >= 6 && memcmp(rest, "&quot;", 6) == 0) { decoded = '"'; used = 6; }
        else if (left >= 6 && memcmp(rest, "&apos;", 6) == 0) { decoded = '\''; used = 6; }
        else return -1;                                 /* character references and the rest */
        if (buf_put(out, &decoded, 1)) return -2;
        i += used - 1;
        start = i + 1;
    }
    return buf_put(out, v + start, n - start) ? -2 : 0;
}

enum { DECLINE = -1, NOMEM = -2 };
#define DECLINE_INIT -1
#define NOMEM_INIT -2

/* Whether data is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static int valid_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {                           /* skip ASCII a word at a time */
            uint64_t word;
            memcpy(&word, s + i, 8);
            if (!(word & 0x8080808080808080ULL)) { i += 8; continue; }
        }
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        Py_ssize_t extra;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { extra = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { extra = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { extra = 3; cp = c & 0x07; }
        else return 0;
        if (i + extra >= n) return 0;
        for (Py_ssize_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += extra + 1;
    }
    return 1;
}


#define MAX_COLUMNS 256
#define SEPARATOR '\x1f'

typedef struct {
    Buf off, data, present;
    int32_t start, len;            /* the current record's value, as a slice of the level's values; start -1: none */
} Column;

/* The layouts of one level met so far in a file: each distinct sequence of interned ids, once. */
typedef struct {
    int32_t *pool;                 /* the layouts' ids, one layout after the other */
    Py_ssize_t pool_len, pool_cap;
    Py_ssize_t *start;             /* per layout: where its ids start in pool */
    int32_t *size;                 /* per layout: how many ids */
    uint64_t *hash;
    int32_t count, cap;
    int32_t *slots;                /* open addressing: layout + 1, 0 = empty; nslots a power of two */
    int32_t nslots;
    int32_t reported;              /* layouts already handed to Python */
} LayoutTable;

static uint64_t ids_hash(const int32_t *ids, int32_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (int32_t i = 0; i < n; i++) h = (h ^ (uint32_t)ids[i]) * 1099511628211ULL;
    h ^= h >> 33;                  /* the slot is taken from the low bits: mix the high ones in */
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

/* Rebuild the slots (nslots of them) from the first `count` layouts. */
static int layouts_rehash(LayoutTable *t, int32_t nslots) {
    int32_t *slots = calloc((size_t)nslots, sizeof *slots);
    if (!slots) return NOMEM;
    uint32_t mask = (uint32_t)nslots - 1;
    for (int32_t k = 0; k < t->count; k++) {
        uint32_t slot = (uint32_t)t->hash[k] & mask;
        while (slots[slot]) slot = (slot + 1) & mask;
        slots[slot] = k + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

/* The number of the layout of these ids (n >= 1), added when new; NOMEM when memory ran out. */
static int32_t layout_of(LayoutTable *t, const int32_t *ids, int32_t n) {
    if ((t->count + 1) * 2 > t->nslots && layouts_rehash(t, t->nslots ? t->nslots * 2 : 1024)) return NOMEM;
    uint64_t h = ids_hash(ids, n);
    uint32_t mask = (uint32_t)t->nslots - 1, slot = (uint32_t)h & mask;
    for (; t->slots[slot]; slot = (slot + 1) & mask) {
        int32_t k = t->slots[slot] - 1;
        if (t->hash[k] == h && t->size[k] == n && memcmp(t->pool + t->start[k], ids, (size_t)n * 4) == 0) return k;
    }
    if (t->count == t->cap) {
        int32_t cap = t->cap ? t->cap * 2 : 256;
        Py_ssize_t *start = realloc(t->start, (size_t)cap * sizeof *start);
        if (start) t->start = start;
        int32_t *size = realloc(t->size, (size_t)cap * sizeof *size);
        if (size) t->size = size;
        uint64_t *hash = realloc(t->hash, (size_t)cap * sizeof *hash);
        if (hash) t->hash = hash;
        if (!start || !size || !hash) return NOMEM;
        t->cap = cap;
    }
    if (t->pool_len + n > t->pool_cap) {
        Py_ssize_t cap = t->pool_cap ? t->pool_cap : 16384;
        while (cap < t->pool_len + n) cap *= 2;
        int32_t *pool = realloc(t->pool, (size_t)cap * sizeof *pool);
        if (!pool) return NOMEM;
        t->pool = pool;
        t->pool_cap = cap;
    }
    int32_t k = t->count++;
    memcpy(t->pool + t->pool_len, ids, (size_t)n * 4);
    t->start[k] = t->pool_len;
    t->size[k] = n;
    t->hash[k] = h;
    t->pool_len += n;
    t->slots[slot] = k + 1;
    return k;
}

/* Forget the layouts from `count` on (met in a block outside the grammar). */
static int layouts_truncate(LayoutTable *t, int32_t count) {
    if (t->count == count) return 0;
    t->count = count;
    t->pool_len = count ? t->start[count - 1] + t->size[count - 1] : 0;
    return layouts_rehash(t, t->nslots);
}

static void layouts_free(LayoutTable *t) {
    free(t->pool);
    free(t->start);
    free(t->size);
    free(t->hash);
    free(t->slots);
}

/* The records of one level (patients or tumors) as packed rows and wide columns. */
typedef struct {
    Buf seq, patient, line, has, layout, vals_off, vals, cur;
    LayoutTable *layouts;          /* the file's layouts of this level (owned by the Layouts object) */
    int ncols;
    char names[MAX_COLUMNS][MAX_ID_LEN + 1];
    int lens[MAX_COLUMNS];
    Column cols[MAX_COLUMNS];
    int16_t column_of[MAX_IDS];    /* per interned id: its column, -1 none, -2 not looked up yet */
    int open, items;
    int32_t vals_start;
} Level;

static int level_init(Level *lv, PyObject *names, LayoutTable *layouts) {
    lv->ncols = 0;
    lv->layouts = layouts;
    for (int k = 0; k < MAX_IDS; k++) lv->column_of[k] = -2;
    int32_t zero = 0;
    if (buf_put(&lv->vals_off, &zero, 4)) return NOMEM_INIT;
    Py_ssize_t n = names ? PyTuple_GET_SIZE(names) : 0;
    if (n > MAX_COLUMNS) return DECLINE_INIT;
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t len;
        const char *name = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(names, k), &len);
        if (!name || len > MAX_ID_LEN) return DECLINE_INIT;
        memcpy(lv->names[k], name, (size_t)len);
        lv->lens[k] = (int)len;
        lv->cols[k].start = -1;
        if (buf_put(&lv->cols[k].off, &zero, 4)) return NOMEM_INIT;
    }
    lv->ncols = (int)n;
    return 0;
}

static void level_free(Level *lv) {
    Buf *all[] = {&lv->seq, &lv->patient, &lv->line, &lv->has, &lv->layout, &lv->vals_off, &lv->vals, &lv->cur};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->data);
    for (int k = 0; k < MAX_COLUMNS; k++) {
        free(lv->cols[k].off.data);
        free(lv->cols[k].data.data);
        free(lv->cols[k].present.data);
    }
}

static int level_open(Level *lv, int32_t seq, int32_t patient, int64_t line) {
    lv->open = 1;
    lv->items = 0;
    lv->cur.len = 0;
    lv->vals_start = (int32_t)lv->vals.len;
    return buf_put(&lv->seq, &seq, 4) || buf_put(&lv->patient, &patient, 4) || buf_put(&lv->line, &line, 8) ? -2 : 0;
}

/* One item of the open record (its value as written in the file): its id appended to the record's ids, its
   value to the packed values (decoded), and kept for its column if requested. */
static int level_item(Level *lv, Ids *ids, int index, const char *value, Py_ssize_t value_len) {
    if (lv->column_of[index] == -2) {
        lv->column_of[index] = -1;
        for (int k = 0; k < lv->ncols; k++)
            if (lv->lens[k] == ids->lens[index] && memcmp(lv->names[k], ids->names[index], (size_t)lv->lens[k]) == 0) {
                lv->column_of[index] = (int16_t)k;
                break;
            }
    }
    char sep = SEPARATOR;
    int32_t id = index;
    if (lv->items && buf_put(&lv->vals, &sep, 1)) return -2;
    if (buf_put(&lv->cur, &id, 4)) return -2;
    int32_t start = (int32_t)(lv->vals.len - lv->vals_start);
    int rc = put_value(&lv->vals, value, value_len);     /* decoded as it is copied */
    if (rc) return rc;
    int column = lv->column_of[index];
    if (column >= 0) {
        lv->cols[column].start = start;
        lv->cols[column].len = (int32_t)(lv->vals.len - lv->vals_start - start);
    }
    lv->items++;
    return 0;
}

static int level_close(Level *lv) {
    if (!lv->open) return 0;
    lv->open = 0;
    uint8_t has = lv->items > 0;
    int32_t layout = -1;                          /* no items: no layout, empty values (null in Arrow) */
    if (has) {
        layout = layout_of(lv->layouts, (const int32_t *)lv->cur.data, lv->items);
        if (layout < 0) return -2;
    } else {
        lv->vals.len = lv->vals_start;
    }
    int32_t vals_end = (int32_t)lv->vals.len;
    if (buf_put(&lv->has, &has, 1) || buf_put(&lv->layout, &layout, 4) || buf_put(&lv->vals_off, &vals_end, 4))
        return -2;
    for (int k = 0; k < lv->ncols; k++) {
        Column *c = &lv->cols[k];
        uint8_t present = c->start >= 0;
        if (present && buf_put(&c->data, lv->vals.data + lv->vals_start + c->start, c->len)) return -2;
        int32_t end = (int32_t)c->data.len;
        if (buf_put(&c->off, &end, 4) || buf_put(&c->present, &present, 1)) return -2;
        c->start = -1;
    }
    return 0;
}


/* ---- item checks (pipelines/validation.py ITEM_RULES, the same order and meaning) ---------------------- */

enum { TYPE_NONE = -1, TYPE_DIGITS, TYPE_ALPHA, TYPE_MIXED, TYPE_NUMERIC, TYPE_DATE, TYPE_DATETIME };

typedef struct {
    Ids names;
    int32_t num[MAX_IDS], length[MAX_IDS];
    int8_t level[MAX_IDS], type[MAX_IDS];
    uint8_t full_length[MAX_IDS], in_record_type[MAX_IDS];
} Dict;

static int find(const Ids *ids, const char *s, int n) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    uint32_t slot = h % (MAX_IDS * 2);
    for (;;) {
        int v = ids->table[slot];
        if (v == 0) return -1;
        if (ids->lens[v - 1] == n && memcmp(ids->names[v - 1], s, (size_t)n) == 0) return v - 1;
        slot = (slot + 1) % (MAX_IDS * 2);
    }
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int two(const unsigned char *v, int lo, int hi) {       /* two digits forming a number in [lo, hi] */
    if (!is_digit(v[0]) || !is_digit(v[1])) return 0;
    int x = (v[0] - '0') * 10 + (v[1] - '0');
    return x >= lo && x <= hi;
}

static int zone_ok(const unsigned char *v, Py_ssize_t n) {     /* (Z|[+-][0-2][0-9]:[0-5][0-9])? then the end */
    if (n == 0) return 1;
    if (n == 1) return v[0] == 'Z';
    return n == 6 && (v[0] == '+' || v[0] == '-') && v[1] >= '0' && v[1] <= '2' && is_digit(v[2]) && v[3] == ':' &&
           v[4] >= '0' && v[4] <= '5' && is_digit(v[5]);
}

static int type_ok(int type, const unsigned char *v, Py_ssize_t n) {
    Py_ssize_t i;
    switch (type) {
    case TYPE_DIGITS:
        for (i = 0; i < n; i++) if (!is_digit(v[i])) return 0;
        return n > 0;
    case TYPE_ALPHA:
        for (i = 0; i < n; i++) if (v[i] < 'A' || v[i] > 'Z') return 0;
        return n > 0;
    case TYPE_MIXED:
        for (i = 0; i < n; i++) if (!is_digit(v[i]) && (v[i] < 'A' || v[i] > 'Z')) return 0;
        return n > 0;
    case TYPE_NUMERIC: {
        Py_ssize_t dot = -1;
        for (i = 0; i < n; i++) {
            if (v[i] == '.' && dot < 0) dot = i;
            else if (!is_digit(v[i])) return 0;
        }
        return n > 0 && dot != 0 && dot != n - 1;
    }
    case TYPE_DATE:
        if (n != 4 && n != 6 && n != 8) return 0;
        for (i = 0; i < n; i++) if (!is_digit(v[i])) return 0;
        if (!two(v, 18, 20)) return 0;
        if (n >= 6 && !two(v + 4, 1, 12)) return 0;
        return n < 8 || two(v + 6, 1, 31);
    case TYPE_DATETIME: {
        /* CCYY[-MM[-DD[Thh:mm:ss[.f+]]]] then an optional zone; each shorter form is tried as the regular
           expression would backtrack to it */
        if (n < 4 || !two(v, 18, 20) || !is_digit(v[2]) || !is_digit(v[3])) return 0;
        Py_ssize_t ends[4];
        int count = 0;
        ends[count++] = 4;
        if (n >= 7 && v[4] == '-' && two(v + 5, 1, 12)) {
            ends[count++] = 7;
            if (n >= 10 && v[7] == '-' && two(v + 8, 1, 31)) {
                ends[count++] = 10;
                if (n >= 19 && v[10] == 'T' && v[11] >= '0' && v[11] <= '2' && is_digit(v[12]) && v[13] == ':' &&
                    v[14] >= '0' && v[14] <= '5' && is_digit(v[15]) && v[16] == ':' && v[17] >= '0' && v[17] <= '5' &&
                    is_digit(v[18])) {
                    Py_ssize_t e = 19;
                    if (e + 1 < n && v[e] == '.' && is_digit(v[e + 1])) {
                        e += 2;
                        while (e < n && is_digit(v[e])) e++;
                    }
                    ends[count++] = e;
                }
            }
        }
        for (int k = count - 1; k >= 0; k--)
            if (zone_ok(v + ends[k], n - ends[k])) return 1;
        return 0;
    }
    default:
        return 1;
    }
}

/* The conditions an item breaks, as bits (pipelines/validation.py CONDITION_BITS; which one is reported
   is the first in ITEM_RULES order, decided there): 1 unknown, 2 wrong level, 4 too long, 8 naaccrNum
   mismatch, 16 invalid for its data type, 32 not in the record type. 0: none. */
static int item_rules(const Dict *d, int dict_index, int level, int32_t num, const unsigned char *v, Py_ssize_t n) {
    if (dict_index < 0) return 1;
    Py_ssize_t chars = 0;
    for (Py_ssize_t i = 0; i < n; i++) chars += (v[i] & 0xC0) != 0x80;
    int bits = 0;
    if (d->level[dict_index] != level) bits |= 2;
    if (chars > d->length[dict_index]) bits |= 4;
    if (num >= 0 && num != d->num[dict_index]) bits |= 8;
    if (!type_ok(d->type[dict_index], v, n) || (d->full_length[dict_index] && chars != d->length[dict_index]))
        bits |= 16;
    if (!d->in_record_type[dict_index]) bits |= 32;
    return bits;
}

/* The dictionary from Python: a tuple of (naaccrId, naaccrNum, level, length, type, full_length, in_record_type). */
static int dict_init(Dict *d, PyObject *items) {
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    for (Py_ssize_t k = 0; k < n; k++) {
        const char *name;
        Py_ssize_t len;
        int num, level, length, type, full, in_record_type;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(items, k), "s#iiiipp", &name, &len, &num, &level, &length, &type,
                              &full, &in_record_type))
            return -1;
        if (len > MAX_ID_LEN) continue;                /* cannot occur in the line grammar: never looked up */
        int index = intern(&d->names, name, (int)len);
        if (index < 0) { PyErr_SetString(PyExc_ValueError, "dictionary too large"); return -1; }
        d->num[index] = num;
        d->level[index] = (int8_t)level;
        d->length[index] = length;
        d->type[index] = (int8_t)type;
        d->full_length[index] = (uint8_t)full;
        d->in_record_type[index] = (uint8_t)in_record_type;
    }
    return 0;
}

typedef struct {
    Buf e_kind, e_patient, e_tumor, e_line;
    Ids *ids;
    Level *patients, *tumors;
    Dict *dict;
    int dict_of[MAX_IDS];         /* per interned id: its dictionary index, -1 unknown, -2 not looked up yet */
    Buf p_rule, p_patient, p_tumor, p_line, p_id, p_num, p_offsets, p_values;
    int64_t seen[MAX_IDS];        /* per item id: the entity (2*patient or 2*tumor+1) it was last seen in */
} Out;

static void out_free(Out *o) {
    Buf *all[] = {&o->e_kind, &o->e_patient, &o->e_tumor, &o->e_line};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->data);
    Buf *problems[] = {&o->p_rule, &o->p_patient, &o->p_tumor, &o->p_line, &o->p_id, &o->p_num, &o->p_offsets,
                       &o->p_values};
    for (size_t i = 0; i < sizeof problems / sizeof problems[0]; i++) free(problems[i]->data);
    free(o->dict);
    if (o->patients) level_free(o->patients);
    if (o->tumors) level_free(o->tumors);
    free(o->patients);
    free(o->tumors);
}

static int entity(Out *o, uint8_t kind, int32_t patient, int32_t tumor, int64_t line) {
    return buf_put(&o->e_kind, &kind, 1) || buf_put(&o->e_patient, &patient, 4) ||
           buf_put(&o->e_tumor, &tumor, 4) || buf_put(&o->e_line, &line, 8) ? NOMEM : 0;
}

/* One non-blank line: an Item with a value (staged), an empty Item (ignored), or a structural tag. */
static int item_line(Out *o, const char *c, Py_ssize_t n, int patient_depth, int tumor_depth,
                     int32_t patient, int32_t tumor, int64_t line) {
    Py_ssize_t i = 16;                              /* after <Item naaccrId=" */
    if (i >= n || !is_alpha((unsigned char)c[i])) return DECLINE;
    while (i < n && is_alnum((unsigned char)c[i])) i++;
    Py_ssize_t id_len = i - 16;
    if (id_len > MAX_ID_LEN || i >= n || c[i] != '"') return DECLINE;
    i++;
    int32_t num = -1;
    if (n - i >= 12 && memcmp(c + i, " naaccrNum=\"", 12) == 0) {
        i += 12;
        Py_ssize_t digits = 0;
        int64_t value = 0;
        while (i < n && c[i] >= '0' && c[i] <= '9' && digits < 9) { value = value * 10 + (c[i] - '0'); i++; digits++; }
        if (digits == 0 || i >= n || c[i] != '"') return DECLINE;
        num = (int32_t)value;
        i++;
    }
    if (equals(c + i, n - i, "/>") || equals(c + i, n - i, " />") || equals(c + i, n - i, "></Item>"))
        return 0;                                   /* empty item: absent */
    if (i >= n || c[i] != '>') return DECLINE;
    i++;
    const char *lt = memchr(c + i, '<', (size_t)(n - i));
    if (!lt || !equals(lt, n - (lt - c), "</Item>")) return DECLINE;
    if (tumor_depth == 0 && patient_depth == 0) return DECLINE;   /* file-level items belong to the head */
    const char *v = c + i;
    while (v < lt && (*v == ' ' || *v == '\t')) v++;
    if (v == lt) return 0;                          /* blank value: absent, as in the general reader */
    int index = intern(o->ids, c + 16, (int)id_len);
    if (index < 0) return DECLINE;
    int64_t entity_key = tumor_depth ? 2 * (int64_t)tumor + 1 : 2 * (int64_t)patient;
    if (o->seen[index] == entity_key + 1) return DECLINE;   /* duplicate item: reported by the SQL path */
    o->seen[index] = entity_key + 1;
    Level *lv = tumor_depth ? o->tumors : o->patients;
    uint8_t level = tumor_depth ? 2 : 1;
    int32_t tumor_seq = tumor_depth ? tumor : 0;
    int32_t id = index;
    /* the value goes straight into its record (decoded), and is checked there */
    Py_ssize_t before = lv->vals.len;
    int rc = level_item(lv, o->ids, index, c + i, lt - (c + i));
    if (rc) return rc;
    const unsigned char *value = (const unsigned char *)lv->vals.data + before + (lv->items > 1);
    Py_ssize_t value_len = lv->vals.len - before - (lv->items > 1);
    if (o->dict_of[index] == -2) o->dict_of[index] = find(&o->dict->names, o->ids->names[index], o->ids->lens[index]);
    uint8_t rule = (uint8_t)item_rules(o->dict, o->dict_of[index], level, num, value, value_len);
    if (rule) {
        if (buf_put(&o->p_values, value, value_len)) return NOMEM;
        int32_t end = (int32_t)o->p_values.len;
        if (buf_put(&o->p_rule, &rule, 1) || buf_put(&o->p_patient, &patient, 4) ||
            buf_put(&o->p_tumor, &tumor_seq, 4) || buf_put(&o->p_line, &line, 8) || buf_put(&o->p_id, &id, 4) ||
            buf_put(&o->p_num, &num, 4) || buf_put(&o->p_offsets, &end, 4))
            return NOMEM;
    }
    return 0;
}

static PyObject *as_bytes(Buf *b) { return PyBytes_FromStringAndSize(b->data ? b->data : "", b->len); }

/* The layouts of a level not yet handed to Python, as naaccrIds joined with U+001F; marked handed over. */
static PyObject *new_layouts(LayoutTable *t, const Ids *ids) {
    PyObject *texts = PyList_New(t->count - t->reported);
    Buf text = {0};
    for (int32_t k = t->reported; texts && k < t->count; k++) {
        text.len = 0;
        for (int32_t i = 0; i < t->size[k]; i++) {
            int32_t id = t->pool[t->start[k] + i];
            char sep = SEPARATOR;
            if ((i && buf_put(&text, &sep, 1)) || buf_put(&text, ids->names[id], ids->lens[id])) {
                Py_CLEAR(texts);
                PyErr_NoMemory();
                break;
            }
        }
        PyObject *one = texts ? PyUnicode_FromStringAndSize(text.data, text.len) : NULL;
        if (!one) { Py_CLEAR(texts); break; }
        PyList_SET_ITEM(texts, k - t->reported, one);
    }
    free(text.data);
    if (texts) t->reported = t->count;
    return texts;
}

/* One level's records as the tuple described at the top of this file. */
static PyObject *level_result(Level *lv, const Ids *ids) {
    PyObject *columns = PyList_New(lv->ncols);
    if (!columns) return NULL;
    for (int k = 0; k < lv->ncols; k++) {
        PyObject *column = Py_BuildValue("(NNN)", as_bytes(&lv->cols[k].off), as_bytes(&lv->cols[k].data),
                                         as_bytes(&lv->cols[k].present));
        if (!column) { Py_DECREF(columns); return NULL; }
        PyList_SET_ITEM(columns, k, column);
    }
    PyObject *layouts = new_layouts(lv->layouts, ids);
    if (!layouts) { Py_DECREF(columns); return NULL; }
    return Py_BuildValue("(NNNNNNNNN)", as_bytes(&lv->seq), as_bytes(&lv->patient), as_bytes(&lv->line),
                         as_bytes(&lv->has), as_bytes(&lv->layout), as_bytes(&lv->vals_off), as_bytes(&lv->vals),
                         columns, layouts);
}

/* One file's interned naaccrIds and layouts, kept from block to block (see the top of this file). */
typedef struct {
    PyObject_HEAD
    Ids *ids;
    LayoutTable levels[2];         /* patients, tumors */
    int busy;                      /* a block is being scanned with it */
} Layouts;

static PyObject *layouts_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    if (!PyArg_ParseTuple(args, ":Layouts") || (kwargs && PyDict_Size(kwargs))) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "Layouts() takes no arguments");
        return NULL;
    }
    Layouts *self = (Layouts *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->ids = calloc(1, sizeof(Ids));
    if (!self->ids) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void layouts_dealloc(Layouts *self) {
    free(self->ids);
    layouts_free(&self->levels[0]);
    layouts_free(&self->levels[1]);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject LayoutsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pipelines.readers._xmlscan.Layouts",
    .tp_basicsize = sizeof(Layouts),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The naaccrIds and item layouts of one file met so far, kept from block to block.",
    .tp_new = layouts_new,
    .tp_dealloc = (destructor)layouts_dealloc,
};

static PyObject *scan_block(PyObject *self, PyObject *args) {
    Py_buffer view;
    long long line_base, patient_base, tumor_base;
    Layouts *layouts = NULL;
    PyObject *patient_columns = NULL, *tumor_columns = NULL, *dictionary = NULL;
    if (!PyArg_ParseTuple(args, "O!y*LLLO!O!O!", &LayoutsType, &layouts, &view, &line_base, &patient_base,
                          &tumor_base, &PyTuple_Type, &dictionary, &PyTuple_Type, &patient_columns,
                          &PyTuple_Type, &tumor_columns)) return NULL;
    if (view.len >= INT32_MAX || layouts->busy) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, layouts->busy ? "Layouts in use by another scan" : "block too large");
        return NULL;
    }
    Out o;
    memset(&o, 0, sizeof o);
    o.ids = layouts->ids;
    int32_t layouts_before[2] = {layouts->levels[0].count, layouts->levels[1].count};
    o.patients = calloc(1, sizeof(Level));
    o.tumors = calloc(1, sizeof(Level));
    int32_t zero = 0;
    o.dict = calloc(1, sizeof(Dict));
    int rc = (o.patients && o.tumors && o.dict) ? 0 : NOMEM;
    if (rc == 0 && (dict_init(o.dict, dictionary) || buf_put(&o.p_offsets, &zero, 4))) {
        out_free(&o);
        PyBuffer_Release(&view);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    for (int k = 0; k < MAX_IDS; k++) o.dict_of[k] = -2;
    if (rc == 0) rc = level_init(o.patients, patient_columns, &layouts->levels[0]);
    if (rc == 0) rc = level_init(o.tumors, tumor_columns, &layouts->levels[1]);
    if (rc == DECLINE) {
        out_free(&o);
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "too many columns or a column name too long");
        return NULL;
    }
    const char *data = view.buf;
    Py_ssize_t n = view.len, pos = 0;
    int64_t line = line_base;
    int32_t patient = (int32_t)patient_base, tumor = (int32_t)tumor_base;
    int patient_depth = 0, tumor_depth = 0, root_closed = 0;

    layouts->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    if (rc == 0 && !valid_utf8((const unsigned char *)data, n)) rc = DECLINE;
    while (rc == 0 && pos < n) {
        const char *nl = memchr(data + pos, '\n', (size_t)(n - pos));
        Py_ssize_t eol = nl ? nl - data : n;
        Py_ssize_t s = pos, e = eol;
        pos = eol + 1;
        line++;
        while (s < e && (data[s] == ' ' || data[s] == '\t')) s++;
        while (e > s && (data[e - 1] == ' ' || data[e - 1] == '\t' || data[e - 1] == '\r')) e--;
        if (s == e) continue;
        const char *c = data + s;
        Py_ssize_t len = e - s;
        if (root_closed) { rc = DECLINE; break; }
        if (len >= 16 && memcmp(c, "<Item naaccrId=\"", 16) == 0) {
            rc = item_line(&o, c, len, patient_depth, tumor_depth, patient, tumor, line);
        } else if (equals(c, len, "<Patient>")) {
            if (patient_depth) { rc = DECLINE; break; }
            patient_depth = 1;
            ++patient;
            rc = entity(&o, 1, patient, 0, line) || level_open(o.patients, patient, patient, line) ? NOMEM : 0;
        } else if (equals(c, len, "</Patient>")) {
            if (!patient_depth || tumor_depth) { rc = DECLINE; break; }
            patient_depth = 0;
            rc = level_close(o.patients) ? NOMEM : 0;
        } else if (equals(c, len, "<Tumor>")) {
            if (!patient_depth || tumor_depth) { rc = DECLINE; break; }
            tumor_depth = 1;
            ++tumor;
            rc = entity(&o, 2, patient, tumor, line) || level_open(o.tumors, tumor, patient, line) ? NOMEM : 0;
        } else if (equals(c, len, "</Tumor>")) {
            if (!tumor_depth) { rc = DECLINE; break; }
            tumor_depth = 0;
            rc = level_close(o.tumors) ? NOMEM : 0;
        } else if (equals(c, len, "<Patient/>")) {
            if (patient_depth) { rc = DECLINE; break; }
            ++patient;
            rc = entity(&o, 1, patient, 0, line) || level_open(o.patients, patient, patient, line) ||
                 level_close(o.patients) ? NOMEM : 0;
        } else if (equals(c, len, "<Tumor/>")) {
            if (!patient_depth || tumor_depth) { rc = DECLINE; break; }
            ++tumor;
            rc = entity(&o, 2, patient, tumor, line) || level_open(o.tumors, tumor, patient, line) ||
                 level_close(o.tumors) ? NOMEM : 0;
        } else if (equals(c, len, "</NaaccrData>")) {
            if (patient_depth) { rc = DECLINE; break; }
            root_closed = 1;
        } else if (len >= 7 && memcmp(c, "<!--", 4) == 0 && memcmp(c + len - 3, "-->", 3) == 0) {
            for (Py_ssize_t k = 4; k + 1 < len - 3; k++)
                if (c[k] == '-' && c[k + 1] == '-') { rc = DECLINE; break; }
        } else {
            rc = DECLINE;
        }
    }
    if (rc == 0 && patient_depth) rc = DECLINE;     /* blocks end at patient boundaries */
    Py_END_ALLOW_THREADS
    layouts->busy = 0;
    PyBuffer_Release(&view);

    if (rc != 0) {   /* the block adds no layout (the table is rebuilt only when the block added some) */
        for (int k = 0; k < 2; k++)
            if (layouts_truncate(&layouts->levels[k], layouts_before[k])) rc = NOMEM;
    }
    if (rc == NOMEM) {
        out_free(&o);
        return PyErr_NoMemory();
    }
    if (rc == DECLINE) {
        out_free(&o);
        Py_RETURN_NONE;
    }
    PyObject *ids = PyList_New(o.ids->count);
    for (int k = 0; ids && k < o.ids->count; k++) {
        PyObject *name = PyUnicode_FromStringAndSize(o.ids->names[k], o.ids->lens[k]);
        if (!name) { Py_CLEAR(ids); break; }
        PyList_SET_ITEM(ids, k, name);
    }
    PyObject *patients = ids ? level_result(o.patients, o.ids) : NULL;
    PyObject *tumors = patients ? level_result(o.tumors, o.ids) : NULL;
    if (!tumors) {
        Py_XDECREF(ids);
        Py_XDECREF(patients);
        out_free(&o);
        return NULL;
    }
    PyObject *problems = Py_BuildValue("(NNNNNNNN)", as_bytes(&o.p_rule), as_bytes(&o.p_patient),
                                       as_bytes(&o.p_tumor), as_bytes(&o.p_line), as_bytes(&o.p_id),
                                       as_bytes(&o.p_num), as_bytes(&o.p_offsets), as_bytes(&o.p_values));
    if (!problems) {
        Py_DECREF(ids);
        Py_DECREF(patients);
        Py_DECREF(tumors);
        out_free(&o);
        return NULL;
    }
    PyObject *result = Py_BuildValue(
        "(NNNNNLLiLNNN)", ids, as_bytes(&o.e_kind), as_bytes(&o.e_patient), as_bytes(&o.e_tumor), as_bytes(&o.e_line),
        (long long)patient, (long long)tumor, root_closed, (long long)(line - line_base), patients, tumors,
        problems);
    out_free(&o);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_block", scan_block, METH_VARARGS, "Tokenize one block of line-structured NAACCR XML."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_xmlscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__xmlscan(void) {
    if (PyType_Ready(&LayoutsType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&LayoutsType);
    if (PyModule_AddObject(m, "Layouts", (PyObject *)&LayoutsType) < 0) {
        Py_DECREF(&LayoutsType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
