/*
 * Native tokenizer for NAACCR XML laid out one element per line (see xml_bulk.py).
 *
 * Why native: the per-line work of the fast path (recognise the tag, cut out naaccrId and value,
 * decode the five predefined entities, track Patient/Tumor nesting) is a few comparisons per byte;
 * in Python or SQL it costs 20-30 times more than the bytes take to read. This scanner does exactly the
 * grammar of the DuckDB fast path and returns None for anything outside it, so the caller can fall
 * back. It never reads outside the buffer it is given and never allocates per item.
 *
 * scan_block(data: bytes, line_base: int, patient_base: int, tumor_base: int)
 *   -> None, or a tuple:
 *      (item_level u8, item_patient i32, item_tumor i32, item_line i64, item_id i32, item_num i32,
 *       value_offsets i32[n+1], value_bytes, ids: list[str],
 *       entity_kind u8, entity_patient i32, entity_tumor i32, entity_line i64,
 *       last_patient, last_tumor, root_closed, lines)
 *   every array returned as bytes in native byte order.
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

typedef struct {
    Buf level, patient, tumor, line, id, num, offsets, values;
    Buf e_kind, e_patient, e_tumor, e_line;
    Ids *ids;
    int64_t seen[MAX_IDS];        /* per item id: the entity (2*patient or 2*tumor+1) it was last seen in */
} Out;

static void out_free(Out *o) {
    Buf *all[] = {&o->level, &o->patient, &o->tumor, &o->line, &o->id, &o->num, &o->offsets, &o->values,
                  &o->e_kind, &o->e_patient, &o->e_tumor, &o->e_line};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->data);
    free(o->ids);
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
    int rc = put_value(&o->values, c + i, lt - (c + i));
    if (rc) return rc;
    uint8_t level = tumor_depth ? 2 : 1;
    int32_t tumor_seq = tumor_depth ? tumor : 0;
    int32_t id = index;
    int32_t end = (int32_t)o->values.len;
    if (buf_put(&o->level, &level, 1) || buf_put(&o->patient, &patient, 4) || buf_put(&o->tumor, &tumor_seq, 4) ||
        buf_put(&o->line, &line, 8) || buf_put(&o->id, &id, 4) || buf_put(&o->num, &num, 4) ||
        buf_put(&o->offsets, &end, 4))
        return NOMEM;
    return 0;
}

static PyObject *as_bytes(Buf *b) { return PyBytes_FromStringAndSize(b->data ? b->data : "", b->len); }

static PyObject *scan_block(PyObject *self, PyObject *args) {
    Py_buffer view;
    long long line_base, patient_base, tumor_base;
    if (!PyArg_ParseTuple(args, "y*LLL", &view, &line_base, &patient_base, &tumor_base)) return NULL;
    if (view.len >= INT32_MAX) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "block too large");
        return NULL;
    }
    Out o;
    memset(&o, 0, sizeof o);
    o.ids = calloc(1, sizeof(Ids));
    int32_t zero = 0;
    int rc = (o.ids && buf_put(&o.offsets, &zero, 4) == 0) ? 0 : NOMEM;
    const char *data = view.buf;
    Py_ssize_t n = view.len, pos = 0;
    int64_t line = line_base;
    int32_t patient = (int32_t)patient_base, tumor = (int32_t)tumor_base;
    int patient_depth = 0, tumor_depth = 0, root_closed = 0;

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
            rc = entity(&o, 1, ++patient, 0, line);
        } else if (equals(c, len, "</Patient>")) {
            if (!patient_depth || tumor_depth) { rc = DECLINE; break; }
            patient_depth = 0;
        } else if (equals(c, len, "<Tumor>")) {
            if (!patient_depth || tumor_depth) { rc = DECLINE; break; }
            tumor_depth = 1;
            rc = entity(&o, 2, patient, ++tumor, line);
        } else if (equals(c, len, "</Tumor>")) {
            if (!tumor_depth) { rc = DECLINE; break; }
            tumor_depth = 0;
        } else if (equals(c, len, "<Patient/>")) {
            if (patient_depth) { rc = DECLINE; break; }
            rc = entity(&o, 1, ++patient, 0, line);
        } else if (equals(c, len, "<Tumor/>")) {
            if (!patient_depth || tumor_depth) { rc = DECLINE; break; }
            rc = entity(&o, 2, patient, ++tumor, line);
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
    PyBuffer_Release(&view);

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
    PyObject *result = ids ? Py_BuildValue(
        "(NNNNNNNNNNNNNLLiL)", as_bytes(&o.level), as_bytes(&o.patient), as_bytes(&o.tumor),
        as_bytes(&o.line), as_bytes(&o.id), as_bytes(&o.num), as_bytes(&o.offsets), as_bytes(&o.values), ids,
        as_bytes(&o.e_kind), as_bytes(&o.e_patient), as_bytes(&o.e_tumor), as_bytes(&o.e_line),
        (long long)patient, (long long)tumor, root_closed, (long long)(line - line_base)) : NULL;
    out_free(&o);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_block", scan_block, METH_VARARGS, "Tokenize one block of line-structured NAACCR XML."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_xmlscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__xmlscan(void) { return PyModule_Create(&module); }
