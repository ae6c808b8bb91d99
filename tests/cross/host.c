/* A minimal 1C-like host that runs the chat scenario against a built chat1c library.
 * One portable file: Windows (mingw, MSVC object layout: ONE destructor slot, __stdcall interface
 * methods on x86) and Linux (Itanium layout: TWO destructor slots, default convention).
 * Usage: host LIBRARY        prints PASS/FAIL lines and "host: N passed, N failed"; exit 1 on failure.
 * Layouts follow shared notes native-api.md §2-§3; tVariant offsets are checked at compile time. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
#define API __stdcall
#define NDTOR 1
typedef HMODULE lib_t;
static lib_t lib_open(const char *p) { return LoadLibraryA(p); }
static void *lib_sym(lib_t l, const char *n) { return (void *)GetProcAddress(l, n); }
static void sleep_ms(int ms) { Sleep(ms); }
typedef CRITICAL_SECTION mutex_t;
static void mutex_init(mutex_t *m) { InitializeCriticalSection(m); }
static void mutex_lock(mutex_t *m) { EnterCriticalSection(m); }
static void mutex_unlock(mutex_t *m) { LeaveCriticalSection(m); }
#else
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>
#define API
#define NDTOR 2
typedef void *lib_t;
static lib_t lib_open(const char *p) { return dlopen(p, RTLD_NOW | RTLD_LOCAL); }
static void *lib_sym(lib_t l, const char *n) { return dlsym(l, n); }
static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
typedef pthread_mutex_t mutex_t;
static void mutex_init(mutex_t *m) { pthread_mutex_init(m, NULL); }
static void mutex_lock(mutex_t *m) { pthread_mutex_lock(m); }
static void mutex_unlock(mutex_t *m) { pthread_mutex_unlock(m); }
#endif

typedef uint16_t WCHAR_T; /* UTF-16 on every OS */
typedef unsigned short TYPEVAR;
enum { VTYPE_EMPTY = 0, VTYPE_I4 = 3, VTYPE_R8 = 5, VTYPE_BOOL = 11, VTYPE_I8 = 17, VTYPE_PWSTR = 22 };

typedef struct { uint32_t d1; uint16_t d2, d3; uint8_t d4[8]; } IID_;
typedef struct {
    union {
        int32_t lVal;
        int64_t llVal;
        double dblVal;
        bool bVal;
        struct tm tmVal; /* the largest member on every OS: sets the union size */
        struct { void *pInterfaceVal; IID_ InterfaceID; } iface;
        struct { char *pstrVal; uint32_t strLen; } str;
        struct { WCHAR_T *pwstrVal; uint32_t wstrLen; } wstr;
    } u;
    uint32_t cbElements;
    TYPEVAR vt;
} tVariant;

#if defined(_WIN32)
_Static_assert(sizeof(tVariant) == 48 && offsetof(tVariant, vt) == 44, "MSVC tVariant layout");
#elif defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(tVariant) == 64 && offsetof(tVariant, vt) == 60, "LP64 tVariant layout");
#elif defined(__i386__)
_Static_assert(sizeof(tVariant) == 52 && offsetof(tVariant, vt) == 48, "i386 tVariant layout");
#endif

/* ---- the add-in's interfaces (IComponentBase = 4 vptrs: InitDone, LanguageExtender, Locale, UserLanguage) ---- */
typedef struct {
    void *dtor[NDTOR];
    bool(API *Init)(void *, void *);
    bool(API *setMemManager)(void *, void *);
    long(API *GetInfo)(void *);
    void(API *Done)(void *);
} InitDoneVT;
typedef struct {
    void *dtor[NDTOR];
    bool(API *RegisterExtensionAs)(void *, WCHAR_T **);
    long(API *GetNProps)(void *);
    long(API *FindProp)(void *, const WCHAR_T *);
    const WCHAR_T *(API *GetPropName)(void *, long, long);
    bool(API *GetPropVal)(void *, long, tVariant *);
    bool(API *SetPropVal)(void *, long, tVariant *);
    bool(API *IsPropReadable)(void *, long);
    bool(API *IsPropWritable)(void *, long);
    long(API *GetNMethods)(void *);
    long(API *FindMethod)(void *, const WCHAR_T *);
    const WCHAR_T *(API *GetMethodName)(void *, long, long);
    long(API *GetNParams)(void *, long);
    bool(API *GetParamDefValue)(void *, long, long, tVariant *);
    bool(API *HasRetVal)(void *, long);
    bool(API *CallAsProc)(void *, long, tVariant *, long);
    bool(API *CallAsFunc)(void *, long, tVariant *, tVariant *, long);
} LangVT;
typedef struct {
    void *dtor[NDTOR];
    void(API *SetLocale)(void *, const WCHAR_T *);
} LocaleVT;
typedef struct {
    void *dtor[NDTOR];
    void(API *SetUserInterfaceLanguageCode)(void *, const WCHAR_T *);
} UserLangVT;
typedef struct {
    const InitDoneVT *init;
    const LangVT *lang;
    const LocaleVT *locale;
    const UserLangVT *ulang;
} Component;
#define LANG_THIS(c) ((void *)&(c)->lang)
#define LOCALE_THIS(c) ((void *)&(c)->locale)
#define ULANG_THIS(c) ((void *)&(c)->ulang)

/* ---- exported C functions (cdecl) ---- */
typedef const WCHAR_T *(*GetClassNames_t)(void);
typedef long (*GetClassObject_t)(const WCHAR_T *, Component **);
typedef long (*DestroyObject_t)(Component **);
typedef int (*SetPlatformCapabilities_t)(int);
typedef int (*GetAttachType_t)(void);

/* ---- results ---- */
static int passed, failed;
static void check(bool ok, const char *name, const char *detail) {
    if (ok) {
        passed++;
        printf("PASS %s\n", name);
    } else {
        failed++;
        printf("FAIL %s%s%s\n", name, detail && *detail ? ": " : "", detail ? detail : "");
    }
    fflush(stdout);
}

/* ---- strings ---- */
static WCHAR_T *wstr(const char *s) { /* ASCII/Latin-1 -> UTF-16, malloc'd */
    size_t n = strlen(s);
    WCHAR_T *w = malloc((n + 1) * sizeof *w);
    for (size_t i = 0; i <= n; i++) w[i] = (unsigned char)s[i];
    return w;
}
static char *utf8(const WCHAR_T *w, long len) { /* UTF-16 -> UTF-8; len < 0: NUL-terminated */
    if (!w) return strdup("(null)");
    if (len < 0)
        for (len = 0; w[len]; len++) {
        }
    char *s = malloc((size_t)len * 3 + 1), *o = s;
    for (long i = 0; i < len; i++) {
        unsigned c = w[i];
        if (c < 0x80) *o++ = (char)c;
        else if (c < 0x800) { *o++ = (char)(0xC0 | c >> 6); *o++ = (char)(0x80 | (c & 63)); }
        else { *o++ = (char)(0xE0 | c >> 12); *o++ = (char)(0x80 | (c >> 6 & 63)); *o++ = (char)(0x80 | (c & 63)); }
    }
    *o = 0;
    return s;
}

/* ---- IMemoryManager (malloc-backed; counts live blocks to catch leaks and foreign frees) ---- */
typedef struct {
    void *dtor[NDTOR];
    bool(API *AllocMemory)(void *, void **, unsigned long);
    void(API *FreeMemory)(void *, void **);
} MemVT;
typedef struct { const MemVT *vt; long live; mutex_t lock; } MemManager;
static bool API mem_alloc(void *self, void **p, unsigned long n) {
    MemManager *m = self;
    *p = malloc(n ? n : 1);
    if (!*p) return false;
    mutex_lock(&m->lock); m->live++; mutex_unlock(&m->lock);
    return true;
}
static void API mem_free(void *self, void **p) {
    MemManager *m = self;
    if (p && *p) {
        free(*p);
        *p = NULL;
        mutex_lock(&m->lock); m->live--; mutex_unlock(&m->lock);
    }
}
static void API never_called(void) { fprintf(stderr, "host: a destructor slot was called\n"); abort(); }
#if NDTOR == 2
#define DTORS {(void *)never_called, (void *)never_called}
#else
#define DTORS {(void *)never_called}
#endif
static const MemVT mem_vt = {DTORS, mem_alloc, mem_free};
static MemManager mem; /* vt set in main */

/* ---- IAddInDefBase(Ex): AddError is recorded; ExternalEvent goes to a bounded queue ---- */
#define QMAX 64
typedef struct { char *source, *message, *data; } Event;
typedef struct {
    void *dtor[NDTOR];
    bool(API *AddError)(void *, unsigned short, const WCHAR_T *, const WCHAR_T *, long);
    bool(API *Read)(void *, WCHAR_T *, tVariant *, long *, WCHAR_T **);
    bool(API *Write)(void *, WCHAR_T *, tVariant *);
    bool(API *RegisterProfileAs)(void *, WCHAR_T *);
    bool(API *SetEventBufferDepth)(void *, long);
    long(API *GetEventBufferDepth)(void *);
    bool(API *ExternalEvent)(void *, WCHAR_T *, WCHAR_T *, WCHAR_T *);
    void(API *CleanEventBuffer)(void *);
    bool(API *SetStatusLine)(void *, WCHAR_T *);
    void(API *ResetStatusLine)(void *);
    void *(API *GetInterface)(void *, int); /* IAddInDefBaseEx */
} ConnVT;
typedef struct {
    const ConnVT *vt;
    mutex_t lock;
    long depth;
    Event q[QMAX];
    int n;
    int errors;
    unsigned short last_wcode;
    long last_scode;
    char *last_error;
} Conn;
static bool API c_add_error(void *self, unsigned short wcode, const WCHAR_T *src, const WCHAR_T *descr, long scode) {
    Conn *c = self;
    char *s = utf8(src, -1), *d = utf8(descr, -1);
    mutex_lock(&c->lock);
    c->errors++;
    c->last_wcode = wcode;
    c->last_scode = scode;
    free(c->last_error);
    c->last_error = d;
    mutex_unlock(&c->lock);
    printf("  AddError(%u, %s, \"%s\", %ld)\n", wcode, s, d, scode);
    free(s);
    return true;
}
static bool API c_read(void *self, WCHAR_T *n, tVariant *v, long *e, WCHAR_T **d) { (void)self; (void)n; (void)v; (void)e; (void)d; return false; }
static bool API c_write(void *self, WCHAR_T *n, tVariant *v) { (void)self; (void)n; (void)v; return false; }
static bool API c_register_profile(void *self, WCHAR_T *n) { (void)self; (void)n; return true; }
static bool API c_set_depth(void *self, long d) {
    Conn *c = self;
    if (d < 1 || d > QMAX) d = QMAX;
    mutex_lock(&c->lock); c->depth = d; mutex_unlock(&c->lock);
    return true;
}
static long API c_get_depth(void *self) { return ((Conn *)self)->depth; }
static bool API c_external_event(void *self, WCHAR_T *src, WCHAR_T *msg, WCHAR_T *data) {
    Conn *c = self; /* called from the add-in's watcher thread */
    bool ok = false;
    mutex_lock(&c->lock);
    if (c->n < c->depth) {
        c->q[c->n].source = utf8(src, -1);
        c->q[c->n].message = utf8(msg, -1);
        c->q[c->n].data = utf8(data, -1);
        c->n++;
        ok = true;
    }
    mutex_unlock(&c->lock);
    return ok;
}
static void API c_clean(void *self) {
    Conn *c = self;
    mutex_lock(&c->lock);
    for (int i = 0; i < c->n; i++) { free(c->q[i].source); free(c->q[i].message); free(c->q[i].data); }
    c->n = 0;
    mutex_unlock(&c->lock);
}
static bool API c_status(void *self, WCHAR_T *t) { (void)self; (void)t; return true; }
static void API c_reset_status(void *self) { (void)self; }
static void *API c_get_interface(void *self, int i) { (void)self; (void)i; return NULL; }
static const ConnVT conn_vt = {DTORS, c_add_error, c_read, c_write, c_register_profile, c_set_depth, c_get_depth,
                               c_external_event, c_clean, c_status, c_reset_status, c_get_interface};
static void conn_init(Conn *c) {
    memset(c, 0, sizeof *c);
    c->vt = &conn_vt;
    c->depth = 1; /* 1C's initial buffer depth */
    mutex_init(&c->lock);
}
static bool conn_pop(Conn *c, Event *e) {
    bool ok = false;
    mutex_lock(&c->lock);
    if (c->n > 0) {
        *e = c->q[0];
        memmove(c->q, c->q + 1, (size_t)(c->n - 1) * sizeof c->q[0]);
        c->n--;
        ok = true;
    }
    mutex_unlock(&c->lock);
    return ok;
}

/* ---- variants ---- */
static void v_str(tVariant *v, const char *s) { /* the host's own strings: malloc'd, freed by v_clear_host */
    memset(v, 0, sizeof *v);
    v->vt = VTYPE_PWSTR;
    v->u.wstr.pwstrVal = wstr(s);
    v->u.wstr.wstrLen = (uint32_t)strlen(s);
}
static void v_clear_host(tVariant *v) {
    if (v->vt == VTYPE_PWSTR) free(v->u.wstr.pwstrVal);
    memset(v, 0, sizeof *v);
}
static void v_clear_ret(tVariant *v) { /* strings the add-in returns come from our memory manager */
    if (v->vt == VTYPE_PWSTR && v->u.wstr.pwstrVal) {
        void *p = v->u.wstr.pwstrVal;
        mem_free(&mem, &p);
    }
    memset(v, 0, sizeof *v);
}
static bool v_number(const tVariant *v, double *out) {
    switch (v->vt) {
    case VTYPE_I4: *out = v->u.lVal; return true;
    case VTYPE_I8: *out = (double)v->u.llVal; return true;
    case VTYPE_R8: *out = v->u.dblVal; return true;
    default: return false;
    }
}

/* Calls a method as 1C does: FindMethod by name, CallAsFunc when HasRetVal, else CallAsProc. */
static bool call(Component *c, const char *name, tVariant *args, long n, tVariant *ret) {
    WCHAR_T *w = wstr(name);
    long m = c->lang->FindMethod(LANG_THIS(c), w);
    free(w);
    memset(ret, 0, sizeof *ret);
    if (m < 0) {
        printf("  FindMethod(%s) = -1\n", name);
        return false;
    }
    /* As 1C: omitted trailing arguments take GetParamDefValue's defaults. */
    long want = c->lang->GetNParams(LANG_THIS(c), m);
    tVariant all[16];
    if (want < n || want > 16) {
        printf("  %s takes %ld params, %ld given\n", name, want, n);
        return false;
    }
    memset(all, 0, sizeof all);
    memcpy(all, args, (size_t)n * sizeof *args);
    for (long p = n; p < want; p++) {
        if (!c->lang->GetParamDefValue(LANG_THIS(c), m, p, &all[p])) {
            printf("  %s: parameter %ld has no default\n", name, p);
            return false;
        }
    }
    bool ok = c->lang->HasRetVal(LANG_THIS(c), m) ? c->lang->CallAsFunc(LANG_THIS(c), m, ret, all, want)
                                                  : c->lang->CallAsProc(LANG_THIS(c), m, all, want);
    /* The defaults' strings came from the memory manager: give them back. */
    for (long p = n; p < want; p++) v_clear_ret(&all[p]);
    return ok;
}

static Component *create(GetClassObject_t get_class_object, Conn *conn, const char *who) {
    char label[96];
    Component *c = NULL;
    WCHAR_T *name = wstr("Chat");
    long r = get_class_object(name, &c);
    free(name);
    snprintf(label, sizeof label, "%s: GetClassObject(\"Chat\")", who);
    check(r != 0 && c != NULL, label, "returned 0 or a null object");
    if (!c) return NULL;
    bool init = c->init->Init(c, conn);
    bool mm = c->init->setMemManager(c, &mem);
    long info = c->init->GetInfo(c);
    WCHAR_T *ext = NULL;
    bool reg = c->lang->RegisterExtensionAs(LANG_THIS(c), &ext);
    char *ext8 = utf8(ext, -1);
    if (ext) {
        void *p = ext;
        mem_free(&mem, &p);
    }
    WCHAR_T *loc = wstr("en_US"), *lang = wstr("en");
    c->locale->SetLocale(LOCALE_THIS(c), loc);
    c->ulang->SetUserInterfaceLanguageCode(ULANG_THIS(c), lang);
    free(loc);
    free(lang);
    char detail[160];
    snprintf(detail, sizeof detail, "Init=%d setMemManager=%d GetInfo=%ld RegisterExtensionAs=%d \"%s\"", init, mm,
             info, reg, ext8);
    snprintf(label, sizeof label, "%s: Init, setMemManager, GetInfo=2000, RegisterExtensionAs=\"Chat\"", who);
    check(init && mm && info == 2000 && reg && strcmp(ext8, "Chat") == 0, label, detail);
    free(ext8);
    return c;
}

static void make_store(char *dir, size_t dn, char *store, size_t sn) {
#ifdef _WIN32
    /* GetTempPath is inside the wine prefix (or %TEMP% on real Windows). */
    char tmp[MAX_PATH];
    GetTempPathA(sizeof tmp, tmp);
    snprintf(dir, dn, "%schat1c-cross-%lu-%lu", tmp, (unsigned long)GetCurrentProcessId(), (unsigned long)GetTickCount());
    CreateDirectoryA(dir, NULL);
    snprintf(store, sn, "%s\\chat.db", dir);
#else
    const char *t = getenv("TMPDIR");
    snprintf(dir, dn, "%s/chat1c-cross-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) { perror("mkdtemp"); exit(2); }
    snprintf(store, sn, "%s/chat.db", dir);
#endif
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    mem.vt = &mem_vt;
    mutex_init(&mem.lock);
    printf("host: %s, sizeof(tVariant)=%u, vt at %u, %d destructor slot(s), library %s\n",
#ifdef _WIN32
           sizeof(void *) == 8 ? "windows x86_64" : "windows i386",
#else
           sizeof(void *) == 8 ? "linux 64-bit" : "linux 32-bit",
#endif
           (unsigned)sizeof(tVariant), (unsigned)offsetof(tVariant, vt), NDTOR, argv[1]);

    lib_t lib = lib_open(argv[1]);
    if (!lib) {
#ifndef _WIN32
        printf("  dlopen: %s\n", dlerror());
#else
        printf("  LoadLibrary error %lu\n", (unsigned long)GetLastError());
#endif
    }
    check(lib != NULL, "load library", argv[1]);
    if (!lib) goto done;
    GetClassNames_t get_class_names = (GetClassNames_t)lib_sym(lib, "GetClassNames");
    GetClassObject_t get_class_object = (GetClassObject_t)lib_sym(lib, "GetClassObject");
    DestroyObject_t destroy_object = (DestroyObject_t)lib_sym(lib, "DestroyObject");
    SetPlatformCapabilities_t set_caps = (SetPlatformCapabilities_t)lib_sym(lib, "SetPlatformCapabilities");
    GetAttachType_t get_attach_type = (GetAttachType_t)lib_sym(lib, "GetAttachType");
    check(get_class_names && get_class_object && destroy_object && set_caps && get_attach_type,
          "the five exports resolve by plain name", NULL);
    if (!(get_class_names && get_class_object && destroy_object && set_caps && get_attach_type)) goto done;

    int caps = set_caps(3);
    int attach = get_attach_type();
    char *names = utf8(get_class_names(), -1);
    char detail[512];
    snprintf(detail, sizeof detail, "SetPlatformCapabilities(3)=%d GetAttachType=%d GetClassNames=\"%s\"", caps, attach,
             names);
    check(attach == 3 && strstr(names, "Chat") != NULL, "GetClassNames has \"Chat\", GetAttachType=3", detail);
    free(names);

    Conn conn1, conn2;
    conn_init(&conn1);
    conn_init(&conn2);
    Component *u1 = create(get_class_object, &conn1, "u1");
    Component *u2 = create(get_class_object, &conn2, "u2");
    if (!u1 || !u2) goto done;
    check(u1->lang->GetNMethods(LANG_THIS(u1)) > 0 && u1->lang->GetNProps(LANG_THIS(u1)) > 0,
          "GetNMethods, GetNProps > 0", NULL);

    char dir[512], store[600];
    make_store(dir, sizeof dir, store, sizeof store);
    printf("  store: %s\n", store);

    tVariant a[3], ret;
    v_str(&a[0], store);
    v_str(&a[1], "u1");
    bool ok = call(u1, "Open", a, 2, &ret);
    v_clear_ret(&ret);
    check(ok && conn1.errors == 0, "u1: Open(store, \"u1\")", conn1.last_error);
    v_clear_host(&a[1]);
    v_str(&a[1], "u2");
    ok = call(u2, "Open", a, 2, &ret);
    v_clear_ret(&ret);
    check(ok && conn2.errors == 0, "u2: Open(same store, \"u2\")", conn2.last_error);
    v_clear_host(&a[0]);
    v_clear_host(&a[1]);

    /* drop anything queued by Open so the next event is the one for our message */
    c_clean(&conn2);

    v_str(&a[0], "t");
    v_str(&a[1], "u2");
    v_str(&a[2], "hi");
    ok = call(u1, "SendMessage", a, 3, &ret);
    double id = -1;
    bool num = ok && v_number(&ret, &id);
    snprintf(detail, sizeof detail, "ok=%d vt=%u", ok, ret.vt);
    check(num && id > 0, "u1: SendMessage(\"t\", \"u2\", \"hi\") returns an id", detail);
    printf("  message id %.0f\n", id);
    v_clear_ret(&ret);
    for (int i = 0; i < 3; i++) v_clear_host(&a[i]);

    /* the watcher of u2 must notice u1's commit: poll the queue like 1C's idle loop, up to 10 s */
    Event ev;
    bool got = false, good = false;
    long cursor = -1;
    for (int waited = 0; waited <= 10000 && !got; waited += 50) {
        if (conn_pop(&conn2, &ev)) {
            got = true;
            printf("  u2 event after ~%d ms: ExternalEvent(\"%s\", \"%s\", %s)\n", waited, ev.source, ev.message, ev.data);
            const char *cp = strstr(ev.data, "\"cursor\":");
            if (cp) cursor = strtol(cp + 9, NULL, 10);
            good = strcmp(ev.source, "Chat") == 0 && strcmp(ev.message, "NewMessages") == 0 && cursor >= (long)id;
            free(ev.source);
            free(ev.message);
            free(ev.data);
        } else {
            sleep_ms(50);
        }
    }
    check(got, "u2: an ExternalEvent arrives within 10 s", "no event");
    snprintf(detail, sizeof detail, "cursor %ld, message id %.0f", cursor, id);
    if (got) check(good, "u2: event is Chat/NewMessages with data {\"cursor\": >= id}", detail);

    ok = call(u2, "GetGroups", NULL, 0, &ret);
    char *groups = ret.vt == VTYPE_PWSTR ? utf8(ret.u.wstr.pwstrVal, (long)ret.u.wstr.wstrLen) : strdup("(not a string)");
    printf("  u2 GetGroups: %.300s\n", groups);
    check(ok && ret.vt == VTYPE_PWSTR && strstr(groups, "\"topic\":\"t\"") && strstr(groups, "\"hi\""),
          "u2: GetGroups() JSON has topic \"t\" and the message", groups);
    free(groups);
    v_clear_ret(&ret);

    /* error path: an empty text is refused with AddError(…, scode != 0) and false */
    int before = conn1.errors;
    v_str(&a[0], "t");
    v_str(&a[1], "u2");
    v_str(&a[2], "");
    ok = call(u1, "SendMessage", a, 3, &ret);
    v_clear_ret(&ret);
    for (int i = 0; i < 3; i++) v_clear_host(&a[i]);
    snprintf(detail, sizeof detail, "returned %d, AddError calls %d, scode %ld", ok, conn1.errors - before, conn1.last_scode);
    check(!ok && conn1.errors == before + 1 && conn1.last_scode != 0 && conn1.last_wcode == 1006,
          "u1: SendMessage with empty text -> false + AddError(1006, ..., scode != 0)", detail);

    ok = call(u1, "Close", NULL, 0, &ret);
    v_clear_ret(&ret);
    bool ok2 = call(u2, "Close", NULL, 0, &ret);
    v_clear_ret(&ret);
    check(ok && ok2, "Close() on both", NULL);

    u1->init->Done(u1);
    u2->init->Done(u2);
    long d1 = destroy_object(&u1), d2 = destroy_object(&u2);
    snprintf(detail, sizeof detail, "DestroyObject -> %ld, %ld", d1, d2);
    check(d1 == 0 && d2 == 0, "Done + DestroyObject", detail);
    c_clean(&conn1);
    c_clean(&conn2);
    snprintf(detail, sizeof detail, "%ld blocks from AllocMemory not freed", mem.live);
    check(mem.live == 0, "every AllocMemory block was handed over and freed", detail);

    /* best effort: the store files and their folder */
    {
        char f[700];
        const char *sfx[] = {"", "-wal", "-shm", "-journal"};
        for (int i = 0; i < 4; i++) {
            snprintf(f, sizeof f, "%s%s", store, sfx[i]);
            remove(f);
        }
#ifdef _WIN32
        RemoveDirectoryA(dir);
#else
        rmdir(dir);
#endif
    }
done:
    printf("host: %d passed, %d failed\n", passed, failed);
    fflush(stdout);
    /* no FreeLibrary/dlclose: 1C keeps add-in libraries loaded, and the watcher threads may still unwind */
    return failed ? 1 : 0;
}
