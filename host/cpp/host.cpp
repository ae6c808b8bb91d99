// chat1c-host: the platform side of a 1C:Enterprise Native API host.
//
// Compiled by the C++ compiler against 1C's official headers (found in the addin1c-test
// crate at build time), so the interfaces the add-in is called through, and the interfaces it
// calls back, have exactly the vtable layout a real C++ compiler gives them, as in 1C.
//
// Everything the Rust side needs is exposed as plain `extern "C"` functions prefixed `h_`.
// No Rust code is ever called from here, so nothing can unwind across the boundary; C++
// exceptions thrown by an add-in are caught in the shims and recorded as violations.
//
// Portability: only the library loader and the monotonic clock are OS-specific, each behind
// `#if defined(_WIN32)`; the rest is standard C++11.

#include "ComponentBase.h"
#include "AddInDefBase.h"
#include "IMemoryManager.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#include <time.h>
#endif

namespace {

// ------------------------------------------------------------------------------------------
// Violations: everything the add-in does that 1C would not survive or would not accept.

struct Violation {
    uint64_t owner;  // object id (0 = library level)
    std::string text;
};

// Process-lifetime registries live on the heap and are never destroyed: a late add-in thread may
// still use them while the process exits, and what they hold stays reachable (not "lost").
std::mutex g_viol_mx;
std::deque<Violation>& g_viols = *new std::deque<Violation>();  // push_back keeps element refs valid

std::string thread_tag() {
    std::size_t h = std::hash<std::thread::id>()(std::this_thread::get_id());
    char buf[32];
    std::snprintf(buf, sizeof buf, "thread %04zx", h & 0xffff);
    return buf;
}

void violation(uint64_t owner, const std::string& text) {
    try {
        std::lock_guard<std::mutex> lk(g_viol_mx);
        g_viols.push_back(Violation{owner, text});
    } catch (...) {
    }
}

uint64_t mono_ns() {
#if defined(_WIN32)
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return static_cast<uint64_t>(static_cast<double>(c.QuadPart) * 1e9 / static_cast<double>(f.QuadPart));
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
#endif
}

std::u16string copy16(const char16_t* s) {
    std::u16string out;
    if (s)
        for (std::size_t i = 0; s[i]; ++i) out.push_back(s[i]);
    return out;
}

// ------------------------------------------------------------------------------------------
// Memory manager: every block is tracked; freeing an unknown pointer is a violation.

std::atomic<std::size_t> g_live_total{0};

class MemMgr : public IMemoryManager {
public:
    explicit MemMgr(uint64_t owner) : owner_(owner) {}
    virtual ~MemMgr() {}

    virtual bool ADDIN_API AllocMemory(void** pMemory, unsigned long ulCountByte) {
        if (!pMemory) {
            violation(owner_, "IMemoryManager::AllocMemory called with a null out-pointer");
            return false;
        }
        void* m = std::malloc(ulCountByte ? ulCountByte : 1);
        *pMemory = m;
        if (!m) return false;
        try {
            std::lock_guard<std::mutex> lk(mx_);
            live_[m] = ulCountByte;
        } catch (...) {
            std::free(m);
            *pMemory = nullptr;
            return false;
        }
        g_live_total.fetch_add(1);
        return true;
    }

    virtual void ADDIN_API FreeMemory(void** pMemory) {
        if (!pMemory) {
            violation(owner_, "IMemoryManager::FreeMemory called with a null pointer-to-pointer");
            return;
        }
        if (!*pMemory) return;  // freeing NULL is harmless
        if (release(*pMemory, "the add-in called IMemoryManager::FreeMemory"))
            *pMemory = nullptr;
    }

    // Frees a tracked block; reports (and does not touch) an unknown one.
    bool release(void* m, const char* who) {
        bool known = false;
        {
            std::lock_guard<std::mutex> lk(mx_);
            auto it = live_.find(m);
            if (it != live_.end()) {
                live_.erase(it);
                known = true;
            }
        }
        if (!known) {
            char buf[64];
            std::snprintf(buf, sizeof buf, " %p", m);
            violation(owner_, std::string(who) + " on" + buf +
                                  ", which was not allocated by this IMemoryManager::AllocMemory "
                                  "(or was freed already)");
            return false;
        }
        g_live_total.fetch_sub(1);
        std::free(m);
        return true;
    }

    std::size_t live(std::size_t* bytes) {
        std::lock_guard<std::mutex> lk(mx_);
        std::size_t b = 0;
        for (auto& kv : live_) b += kv.second;
        if (bytes) *bytes = b;
        return live_.size();
    }

    uint64_t owner_;

private:
    std::mutex mx_;
    std::unordered_map<void*, unsigned long> live_;
};

// ------------------------------------------------------------------------------------------
// The connection (IAddInDefBaseEx): AddError, the event queue, status line, interfaces.

struct Event {
    std::u16string source, message, data;
    uint64_t mono_ns;
};

struct AddedError {
    unsigned short wcode;
    long scode;
    std::u16string source, descr;
};

class Conn;

struct MsgBox : public IMsgBox {
    Conn* conn;
    virtual bool ADDIN_API Confirm(const WCHAR_T* queryText, tVariant* retVal);
    virtual bool ADDIN_API Alert(const WCHAR_T* text);
};

struct PlatformInfo : public IPlatformInfo {
    Conn* conn;
    AppInfo info;
    virtual const AppInfo* ADDIN_API GetPlatformInfo();
};

struct AttachedInfo : public IAttachedInfo {
    Conn* conn;
    virtual const AttachedType ADDIN_API GetAttachedInfo();
};

class Conn : public IAddInDefBaseEx {
public:
    explicit Conn(uint64_t owner) : owner_(owner) {
        msgbox_.conn = this;
        pinfo_.conn = this;
        pinfo_.info.AppVersion = u"8.3.25.1000";
        pinfo_.info.UserAgentInformation = u"chat1c-host";
        pinfo_.info.Application = IPlatformInfo::eAppThinClient;
        attached_.conn = this;
    }
    virtual ~Conn() {}

    // Every entry point starts here: after Done returned, any call is a violation.
    bool alive(const char* what) {
        if (dead_.load()) {
            violation(owner_, std::string("IAddInDefBase::") + what + " called after Done() returned (from " +
                                  thread_tag() + ")");
            return false;
        }
        return true;
    }

    virtual bool ADDIN_API AddError(unsigned short wcode, const WCHAR_T* source, const WCHAR_T* descr, long scode) {
        if (!alive("AddError")) return false;
        try {
            std::lock_guard<std::mutex> lk(mx_);
            errors_.push_back(AddedError{wcode, scode, copy16(source), copy16(descr)});
        } catch (...) {
            return false;
        }
        return true;
    }

    virtual bool ADDIN_API Read(WCHAR_T* wszPropName, tVariant* pVal, long* pErrCode, WCHAR_T** errDescriptor) {
        if (!alive("Read")) return false;
        (void)wszPropName;
        (void)pVal;
        (void)errDescriptor;
        if (pErrCode) *pErrCode = 0;
        return false;  // no profile storage in this host
    }

    virtual bool ADDIN_API Write(WCHAR_T* wszPropName, tVariant* pVar) {
        if (!alive("Write")) return false;
        (void)wszPropName;
        (void)pVar;
        return false;
    }

    virtual bool ADDIN_API RegisterProfileAs(WCHAR_T* wszProfileName) {
        if (!alive("RegisterProfileAs")) return false;
        (void)wszProfileName;
        return true;
    }

    virtual bool ADDIN_API SetEventBufferDepth(long lDepth) {
        if (!alive("SetEventBufferDepth")) return false;
        return set_depth(lDepth);
    }

    virtual long ADDIN_API GetEventBufferDepth() {
        if (!alive("GetEventBufferDepth")) return 0;
        return depth();
    }

    virtual bool ADDIN_API ExternalEvent(WCHAR_T* wszSource, WCHAR_T* wszMessage, WCHAR_T* wszData) {
        uint64_t now = mono_ns();
        if (!alive("ExternalEvent")) return false;
        if (!wszSource || !wszMessage || !wszData) {
            violation(owner_, "IAddInDefBase::ExternalEvent called with a null string");
            return false;
        }
        try {
            Event ev{copy16(wszSource), copy16(wszMessage), copy16(wszData), now};
            std::lock_guard<std::mutex> lk(mx_);
            if (static_cast<long>(queue_.size()) >= depth_) {
                ++refused_;
                return false;  // buffer full: the event is lost, as in 1C
            }
            queue_.push_back(std::move(ev));
            ++accepted_;
        } catch (...) {
            return false;
        }
        cv_.notify_all();
        return true;
    }

    virtual void ADDIN_API CleanEventBuffer() {
        if (!alive("CleanEventBuffer")) return;
        clean();
    }

    virtual bool ADDIN_API SetStatusLine(WCHAR_T* wszStatusLine) {
        if (!alive("SetStatusLine")) return false;
        std::lock_guard<std::mutex> lk(mx_);
        status_ = copy16(wszStatusLine);
        return true;
    }

    virtual void ADDIN_API ResetStatusLine() {
        if (!alive("ResetStatusLine")) return;
        std::lock_guard<std::mutex> lk(mx_);
        status_.clear();
    }

    virtual IInterface* ADDIN_API GetInterface(Interfaces iface) {
        if (!alive("GetInterface")) return nullptr;
        switch (iface) {
            case eIMsgBox:
                return &msgbox_;
            case eIPlatformInfo:
                return &pinfo_;
            case eIAttachedInfo:
                return &attached_;
            default:
                return nullptr;
        }
    }

    // ---- host side (not part of the interface; no dead check) ----
    bool set_depth(long d) {
        if (d < 1) return false;
        std::lock_guard<std::mutex> lk(mx_);
        depth_ = d;
        return true;
    }
    long depth() {
        std::lock_guard<std::mutex> lk(mx_);
        return depth_;
    }
    void clean() {
        std::lock_guard<std::mutex> lk(mx_);
        queue_.clear();
    }
    // Pops one event, waiting up to wait_ns (<= 0: no wait). The caller owns the result.
    Event* pop(long long wait_ns) {
        std::unique_lock<std::mutex> lk(mx_);
        if (queue_.empty() && wait_ns > 0) {
            auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(wait_ns);
            cv_.wait_until(lk, until, [this] { return !queue_.empty(); });
        }
        if (queue_.empty()) return nullptr;
        Event* ev = new Event(std::move(queue_.front()));
        queue_.pop_front();
        return ev;
    }
    std::size_t error_count() {
        std::lock_guard<std::mutex> lk(mx_);
        return errors_.size();
    }
    const AddedError* error_at(std::size_t i) {
        std::lock_guard<std::mutex> lk(mx_);
        return i < errors_.size() ? &errors_[i] : nullptr;
    }
    void stats(uint64_t* accepted, uint64_t* refused, std::size_t* queued) {
        std::lock_guard<std::mutex> lk(mx_);
        *accepted = accepted_;
        *refused = refused_;
        *queued = queue_.size();
    }
    void mark_dead() { dead_.store(true); }

    uint64_t owner_;

private:
    std::atomic<bool> dead_{false};
    std::mutex mx_;
    std::condition_variable cv_;
    std::deque<Event> queue_;
    long depth_ = 1;  // 1C's initial event buffer depth
    uint64_t accepted_ = 0, refused_ = 0;
    std::deque<AddedError> errors_;  // never erased: references stay valid
    std::u16string status_;
    MsgBox msgbox_;
    PlatformInfo pinfo_;
    AttachedInfo attached_;
};

bool ADDIN_API MsgBox::Confirm(const WCHAR_T* queryText, tVariant* retVal) {
    if (!conn->alive("GetInterface(eIMsgBox)->Confirm")) return false;
    (void)queryText;
    if (retVal) {
        tVarInit(retVal);
        TV_VT(retVal) = VTYPE_BOOL;
        TV_BOOL(retVal) = true;
    }
    return true;
}

bool ADDIN_API MsgBox::Alert(const WCHAR_T* text) {
    if (!conn->alive("GetInterface(eIMsgBox)->Alert")) return false;
    (void)text;
    return true;
}

const IPlatformInfo::AppInfo* ADDIN_API PlatformInfo::GetPlatformInfo() {
    if (!conn->alive("GetInterface(eIPlatformInfo)->GetPlatformInfo")) return nullptr;
    return &info;
}

const IAttachedInfo::AttachedType ADDIN_API AttachedInfo::GetAttachedInfo() {
    conn->alive("GetInterface(eIAttachedInfo)->GetAttachedInfo");
    return eAttachedNotIsolated;
}

// Objects that must outlive everything (an add-in thread may still hold them): kept reachable.
std::mutex g_keep_mx;
std::deque<void*>& g_keep = *new std::deque<void*>();
void keep(void* p) {
    std::lock_guard<std::mutex> lk(g_keep_mx);
    g_keep.push_back(p);
}

// ------------------------------------------------------------------------------------------
// The library and its five exports.

typedef long (*GetClassObjectFn)(const WCHAR_T* wsName, IComponentBase** pIntf);
typedef long (*DestroyObjectFn)(IComponentBase** pIntf);
typedef const WCHAR_T* (*GetClassNamesFn)();
typedef AppCapabilities (*SetPlatformCapabilitiesFn)(const AppCapabilities capabilities);
typedef AttachType (*GetAttachTypeFn)();

struct Lib {
    void* handle;
    GetClassObjectFn get_class_object;
    DestroyObjectFn destroy_object;
    GetClassNamesFn get_class_names;
    SetPlatformCapabilitiesFn set_platform_capabilities;
    GetAttachTypeFn get_attach_type;
};

void* sym(void* handle, const char* name) {
#if defined(_WIN32)
    return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(handle), name));
#else
    return dlsym(handle, name);
#endif
}

void put_err(char* err, std::size_t len, const std::string& s) {
    if (!err || !len) return;
    std::snprintf(err, len, "%s", s.c_str());
}

// Records a C++ exception thrown by the add-in through a host call.
void escaped(uint64_t owner, const char* what) {
    violation(owner, std::string("a C++ exception escaped from the add-in's ") + what);
}

}  // namespace

// ==========================================================================================
// extern "C" surface used by the Rust side.

struct HVal {  // flat view of a tVariant, mirrored in Rust (src/ffi.rs)
    uint16_t vt;
    uint8_t b;
    int32_t i4;
    int64_t i8;
    double r8;
    int32_t tm[9];  // sec, min, hour, mday, mon, year, wday, yday, isdst (struct tm order)
    const void* ptr;
    uint32_t len;  // PWSTR: UTF-16 units; PSTR/BLOB: bytes
};

extern "C" {

std::size_t h_sizeof_hval() { return sizeof(HVal); }
std::size_t h_sizeof_variant() { return sizeof(tVariant); }
uint64_t h_mono_ns() { return mono_ns(); }

// ---- violations ----
std::size_t h_viol_count() {
    std::lock_guard<std::mutex> lk(g_viol_mx);
    return g_viols.size();
}
int h_viol_get(std::size_t i, uint64_t* owner, const char** text, std::size_t* len) {
    std::lock_guard<std::mutex> lk(g_viol_mx);
    if (i >= g_viols.size()) return 0;
    *owner = g_viols[i].owner;
    *text = g_viols[i].text.data();
    *len = g_viols[i].text.size();
    return 1;
}
void h_viol_add(uint64_t owner, const char* text, std::size_t len) { violation(owner, std::string(text, len)); }

// ---- memory managers ----
MemMgr* h_mem_new(uint64_t owner) {
    try {
        MemMgr* m = new MemMgr(owner);
        keep(m);
        return m;
    } catch (...) {
        return nullptr;
    }
}
std::size_t h_mem_live(MemMgr* m, std::size_t* bytes) { return m->live(bytes); }
std::size_t h_live_total() { return g_live_total.load(); }
int h_mem_release(MemMgr* m, void* p, const char* who) { return m->release(p, who) ? 1 : 0; }

// ---- connections ----
Conn* h_conn_new(uint64_t owner) {
    try {
        Conn* c = new Conn(owner);
        keep(c);  // never deleted: a late call must be detected, not crash
        return c;
    } catch (...) {
        return nullptr;
    }
}
void h_conn_mark_dead(Conn* c) { c->mark_dead(); }
int h_conn_set_depth(Conn* c, long d) { return c->set_depth(d) ? 1 : 0; }
long h_conn_depth(Conn* c) { return c->depth(); }
void h_conn_clean(Conn* c) { c->clean(); }
void h_conn_stats(Conn* c, uint64_t* accepted, uint64_t* refused, std::size_t* queued) {
    c->stats(accepted, refused, queued);
}
Event* h_conn_pop(Conn* c, long long wait_ns) {
    try {
        return c->pop(wait_ns);
    } catch (...) {
        return nullptr;
    }
}
void h_ev_view(const Event* e, const char16_t** s, std::size_t* sl, const char16_t** m, std::size_t* ml,
               const char16_t** d, std::size_t* dl, uint64_t* mono) {
    *s = e->source.data();
    *sl = e->source.size();
    *m = e->message.data();
    *ml = e->message.size();
    *d = e->data.data();
    *dl = e->data.size();
    *mono = e->mono_ns;
}
void h_ev_free(Event* e) { delete e; }
std::size_t h_conn_err_count(Conn* c) { return c->error_count(); }
int h_conn_err_get(Conn* c, std::size_t i, unsigned short* wcode, long* scode, const char16_t** src,
                   std::size_t* sl, const char16_t** descr, std::size_t* dl) {
    const AddedError* e = c->error_at(i);
    if (!e) return 0;
    *wcode = e->wcode;
    *scode = e->scode;
    *src = e->source.data();
    *sl = e->source.size();
    *descr = e->descr.data();
    *dl = e->descr.size();
    return 1;
}

// ---- library ----
Lib* h_lib_open(const char* path, char* err, std::size_t errlen) {
#if defined(_WIN32)
    void* h = reinterpret_cast<void*>(::LoadLibraryA(path));
    if (!h) {
        put_err(err, errlen, std::string("LoadLibrary failed for ") + path);
        return nullptr;
    }
#else
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char* e = dlerror();
        put_err(err, errlen, e ? e : "dlopen failed");
        return nullptr;
    }
#endif
    Lib* lib = new Lib();
    lib->handle = h;  // never closed: 1C keeps an add-in library loaded for the process lifetime
    lib->get_class_object = reinterpret_cast<GetClassObjectFn>(sym(h, "GetClassObject"));
    lib->destroy_object = reinterpret_cast<DestroyObjectFn>(sym(h, "DestroyObject"));
    lib->get_class_names = reinterpret_cast<GetClassNamesFn>(sym(h, "GetClassNames"));
    lib->set_platform_capabilities = reinterpret_cast<SetPlatformCapabilitiesFn>(sym(h, "SetPlatformCapabilities"));
    lib->get_attach_type = reinterpret_cast<GetAttachTypeFn>(sym(h, "GetAttachType"));
    keep(lib);
    if (!lib->get_class_object || !lib->destroy_object || !lib->get_class_names) {
        put_err(err, errlen, "the library does not export GetClassObject, DestroyObject and GetClassNames");
        return nullptr;
    }
    return lib;
}
const char16_t* h_lib_class_names(Lib* l) {
    try {
        return l->get_class_names();
    } catch (...) {
        escaped(0, "GetClassNames");
        return nullptr;
    }
}
// Returns 0 when the export is missing.
int h_lib_set_caps(Lib* l, int caps, int* out) {
    if (!l->set_platform_capabilities) return 0;
    try {
        *out = static_cast<int>(l->set_platform_capabilities(static_cast<AppCapabilities>(caps)));
    } catch (...) {
        escaped(0, "SetPlatformCapabilities");
        return 0;
    }
    return 1;
}
int h_lib_attach_type(Lib* l, int* out) {
    if (!l->get_attach_type) return 0;
    try {
        *out = static_cast<int>(l->get_attach_type());
    } catch (...) {
        escaped(0, "GetAttachType");
        return 0;
    }
    return 1;
}
long h_lib_create(Lib* l, const char16_t* name, IComponentBase** out) {
    *out = nullptr;
    try {
        return l->get_class_object(name, out);
    } catch (...) {
        escaped(0, "GetClassObject");
        return 0;
    }
}
long h_lib_destroy(Lib* l, IComponentBase** p, uint64_t owner) {
    try {
        return l->destroy_object(p);
    } catch (...) {
        escaped(owner, "DestroyObject");
        return -1;
    }
}

// ---- IComponentBase, called through the official class ----
#define SHIM(owner, what, fallback, expr) \
    try {                                 \
        return expr;                      \
    } catch (...) {                       \
        escaped(owner, what);             \
        return fallback;                  \
    }

bool h_init(IComponentBase* c, uint64_t o, Conn* conn) {
    SHIM(o, "Init", false, c->Init(static_cast<void*>(static_cast<IAddInDefBase*>(conn))))
}
bool h_set_mem(IComponentBase* c, uint64_t o, MemMgr* m) {
    SHIM(o, "setMemManager", false, c->setMemManager(static_cast<void*>(static_cast<IMemoryManager*>(m))))
}
long h_get_info(IComponentBase* c, uint64_t o) { SHIM(o, "GetInfo", 0, c->GetInfo()) }
void h_done(IComponentBase* c, uint64_t o, Conn* conn) {
    try {
        c->Done();
    } catch (...) {
        escaped(o, "Done");
    }
    conn->mark_dead();
}
bool h_register_extension_as(IComponentBase* c, uint64_t o, char16_t** name) {
    SHIM(o, "RegisterExtensionAs", false, c->RegisterExtensionAs(name))
}
long h_get_nprops(IComponentBase* c, uint64_t o) { SHIM(o, "GetNProps", 0, c->GetNProps()) }
long h_find_prop(IComponentBase* c, uint64_t o, const char16_t* n) { SHIM(o, "FindProp", -1, c->FindProp(n)) }
const char16_t* h_get_prop_name(IComponentBase* c, uint64_t o, long i, long a) {
    SHIM(o, "GetPropName", nullptr, c->GetPropName(i, a))
}
bool h_get_prop_val(IComponentBase* c, uint64_t o, long i, tVariant* v) {
    SHIM(o, "GetPropVal", false, c->GetPropVal(i, v))
}
bool h_set_prop_val(IComponentBase* c, uint64_t o, long i, tVariant* v) {
    SHIM(o, "SetPropVal", false, c->SetPropVal(i, v))
}
bool h_is_prop_readable(IComponentBase* c, uint64_t o, long i) {
    SHIM(o, "IsPropReadable", false, c->IsPropReadable(i))
}
bool h_is_prop_writable(IComponentBase* c, uint64_t o, long i) {
    SHIM(o, "IsPropWritable", false, c->IsPropWritable(i))
}
long h_get_nmethods(IComponentBase* c, uint64_t o) { SHIM(o, "GetNMethods", 0, c->GetNMethods()) }
long h_find_method(IComponentBase* c, uint64_t o, const char16_t* n) {
    SHIM(o, "FindMethod", -1, c->FindMethod(n))
}
const char16_t* h_get_method_name(IComponentBase* c, uint64_t o, long i, long a) {
    SHIM(o, "GetMethodName", nullptr, c->GetMethodName(i, a))
}
long h_get_nparams(IComponentBase* c, uint64_t o, long i) { SHIM(o, "GetNParams", 0, c->GetNParams(i)) }
bool h_get_param_def_value(IComponentBase* c, uint64_t o, long m, long p, tVariant* v) {
    SHIM(o, "GetParamDefValue", false, c->GetParamDefValue(m, p, v))
}
bool h_has_ret_val(IComponentBase* c, uint64_t o, long i) { SHIM(o, "HasRetVal", false, c->HasRetVal(i)) }
bool h_call_as_proc(IComponentBase* c, uint64_t o, long m, tVariant* params, long n) {
    SHIM(o, "CallAsProc", false, c->CallAsProc(m, params, n))
}
bool h_call_as_func(IComponentBase* c, uint64_t o, long m, tVariant* ret, tVariant* params, long n) {
    SHIM(o, "CallAsFunc", false, c->CallAsFunc(m, ret, params, n))
}
void h_set_locale(IComponentBase* c, uint64_t o, const char16_t* loc) {
    try {
        c->SetLocale(loc);
    } catch (...) {
        escaped(o, "SetLocale");
    }
}
void h_set_ui_lang(IComponentBase* c, uint64_t o, const char16_t* lang) {
    try {
        c->SetUserInterfaceLanguageCode(lang);
    } catch (...) {
        escaped(o, "SetUserInterfaceLanguageCode");
    }
}

// ---- tVariant arrays (layout known only to the C++ compiler) ----
tVariant* h_vars_new(long n) {
    // Never NULL, even for zero parameters: an add-in may build a slice from it.
    long count = n > 0 ? n : 1;
    tVariant* a = static_cast<tVariant*>(std::calloc(static_cast<std::size_t>(count), sizeof(tVariant)));
    if (!a) return nullptr;
    for (long i = 0; i < count; ++i) tVarInit(&a[i]);
    return a;
}
void h_vars_free(tVariant* a) { std::free(a); }
tVariant* h_var_at(tVariant* a, long i) { return &a[i]; }

// Fills *v from the flat value; strings and blobs are allocated through the memory manager,
// as 1C does for the parameters it passes (the add-in may free and replace them).
int h_var_set(MemMgr* m, tVariant* v, const HVal* in) {
    tVarInit(v);
    switch (in->vt) {
        case VTYPE_EMPTY:
        case VTYPE_NULL:
            break;
        case VTYPE_I4:
            TV_I4(v) = in->i4;
            break;
        case VTYPE_R8:
            TV_R8(v) = in->r8;
            break;
        case VTYPE_DATE:
            TV_DATE(v) = in->r8;
            break;
        case VTYPE_BOOL:
            TV_BOOL(v) = in->b != 0;
            break;
        case VTYPE_TM:
            v->tmVal.tm_sec = in->tm[0];
            v->tmVal.tm_min = in->tm[1];
            v->tmVal.tm_hour = in->tm[2];
            v->tmVal.tm_mday = in->tm[3];
            v->tmVal.tm_mon = in->tm[4];
            v->tmVal.tm_year = in->tm[5];
            v->tmVal.tm_wday = in->tm[6];
            v->tmVal.tm_yday = in->tm[7];
            v->tmVal.tm_isdst = in->tm[8];
            break;
        case VTYPE_PWSTR: {
            void* p = nullptr;
            std::size_t bytes = (static_cast<std::size_t>(in->len) + 1) * sizeof(WCHAR_T);
            if (!m->AllocMemory(&p, static_cast<unsigned long>(bytes))) return 0;
            if (in->len) std::memcpy(p, in->ptr, in->len * sizeof(WCHAR_T));
            static_cast<WCHAR_T*>(p)[in->len] = 0;
            v->pwstrVal = static_cast<WCHAR_T*>(p);
            v->wstrLen = in->len;
            break;
        }
        case VTYPE_PSTR:
        case VTYPE_BLOB: {
            void* p = nullptr;
            std::size_t bytes = static_cast<std::size_t>(in->len) + (in->vt == VTYPE_PSTR ? 1 : 0);
            if (!m->AllocMemory(&p, static_cast<unsigned long>(bytes))) return 0;
            if (in->len) std::memcpy(p, in->ptr, in->len);
            if (in->vt == VTYPE_PSTR) static_cast<char*>(p)[in->len] = 0;
            v->pstrVal = static_cast<char*>(p);
            v->strLen = in->len;
            break;
        }
        default:
            break;  // an unknown type code with a zeroed payload
    }
    TV_VT(v) = in->vt;
    return 1;
}

// Reads a tVariant into the flat view; pointers are borrowed from *v.
void h_var_get(const tVariant* v, HVal* out) {
    std::memset(out, 0, sizeof *out);
    out->vt = TV_VT(v);
    switch (TV_VT(v)) {
        case VTYPE_I2:
            out->i4 = TV_I2(v);
            break;
        case VTYPE_I4:
        case VTYPE_ERROR:
            out->i4 = TV_I4(v);
            break;
        case VTYPE_INT:
            out->i4 = TV_INT(v);
            break;
        case VTYPE_I1:
            out->i4 = TV_I1(v);
            break;
        case VTYPE_UI1:
            out->i4 = TV_UI1(v);
            break;
        case VTYPE_UI2:
            out->i4 = TV_UI2(v);
            break;
        case VTYPE_UI4:
            out->i8 = TV_UI4(v);
            break;
        case VTYPE_UINT:
            out->i8 = TV_UINT(v);
            break;
        case VTYPE_I8:
            out->i8 = TV_I8(v);
            break;
        case VTYPE_UI8:
            out->i8 = static_cast<int64_t>(TV_UI8(v));
            break;
        case VTYPE_HRESULT:
            out->i8 = v->hRes;
            break;
        case VTYPE_R4:
            out->r8 = TV_R4(v);
            break;
        case VTYPE_R8:
            out->r8 = TV_R8(v);
            break;
        case VTYPE_DATE:
            out->r8 = TV_DATE(v);
            break;
        case VTYPE_BOOL:
            out->b = TV_BOOL(v) ? 1 : 0;
            break;
        case VTYPE_TM:
            out->tm[0] = v->tmVal.tm_sec;
            out->tm[1] = v->tmVal.tm_min;
            out->tm[2] = v->tmVal.tm_hour;
            out->tm[3] = v->tmVal.tm_mday;
            out->tm[4] = v->tmVal.tm_mon;
            out->tm[5] = v->tmVal.tm_year;
            out->tm[6] = v->tmVal.tm_wday;
            out->tm[7] = v->tmVal.tm_yday;
            out->tm[8] = v->tmVal.tm_isdst;
            break;
        case VTYPE_PWSTR:
            out->ptr = v->pwstrVal;
            out->len = v->wstrLen;
            break;
        case VTYPE_PSTR:
        case VTYPE_BLOB:
            out->ptr = v->pstrVal;
            out->len = v->strLen;
            break;
        default:
            break;
    }
}

// Frees what a tVariant owns (strings and blobs), as 1C does after a call, then empties it.
void h_var_clear(MemMgr* m, tVariant* v, const char* who) {
    switch (TV_VT(v)) {
        case VTYPE_PWSTR:
            if (v->pwstrVal) m->release(v->pwstrVal, who);
            break;
        case VTYPE_PSTR:
        case VTYPE_BLOB:
            if (v->pstrVal) m->release(v->pstrVal, who);
            break;
        default:
            break;
    }
    tVarInit(v);
}

}  // extern "C"
