// A deliberately broken Native API add-in, compiled only by host/tests/broken.rs against the
// same official headers as the host. Some methods behave correctly (to test the host's BSL
// semantics); others do what 1C would not survive, so the tests can prove the host reports it:
//   StartLate      - a thread calls ExternalEvent after Done() returned
//   LeakString     - a string allocated through IMemoryManager is never handed over (leak)
//   FreeUnknown    - FreeMemory on a pointer the memory manager never allocated
//   ReturnForeign  - returns a PWSTR that was not allocated through IMemoryManager
//   class Miscount - GetNMethods() is larger than the number of method names
//   class Undercount - GetNMethods() is smaller: FindMethod finds a method beyond the count

#include "ComponentBase.h"
#include "AddInDefBase.h"
#include "IMemoryManager.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

namespace {

struct Method {
    const char16_t* en;
    const char16_t* ru;
    long nparams;
    bool ret;
};

const Method kMethods[] = {
    {u"Echo", u"Эхо", 1, true},
    {u"Fail", u"Сбой", 0, false},
    {u"FailSilently", u"ТихийСбой", 0, true},
    {u"Defaults", u"ПоУмолчанию", 3, true},
    {u"Fire", u"Событие", 1, true},
    {u"FireFromThread", u"СобытиеИзПотока", 1, false},
    {u"StartLate", u"ПоздниеСобытия", 0, false},
    {u"LeakString", u"УтечкаСтроки", 0, true},
    {u"FreeUnknown", u"ОсвободитьЧужое", 0, false},
    {u"ReturnForeign", u"ВернутьЧужое", 0, true},
    {u"TypeOf", u"Тип", 1, true},
    {u"Depth", u"Глубина", 0, true},
    {u"SetDepth", u"УстановитьГлубину", 1, false},
    {u"Clean", u"Очистить", 0, false},
    {u"OutParam", u"Выходной", 1, false},
};
const long kNMethods = sizeof(kMethods) / sizeof(kMethods[0]);

const char16_t* const kProps[][2] = {{u"Name", u"Имя"}, {u"Value", u"Значение"}};
const long kNProps = 2;

std::size_t len16(const char16_t* s) {
    std::size_t n = 0;
    while (s && s[n]) ++n;
    return n;
}

std::u16string from_ascii(const std::string& s) { return std::u16string(s.begin(), s.end()); }

char16_t lower(char16_t c) {
    if (c >= u'A' && c <= u'Z') return c + 32;
    if (c >= 0x410 && c <= 0x42F) return c + 32;  // Cyrillic capitals
    return c;
}

bool same(const char16_t* a, const char16_t* b) {
    std::size_t i = 0;
    for (; a[i] && b[i]; ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return a[i] == b[i];
}

// What a late thread needs after the object is gone.
struct Shared {
    IAddInDefBase* conn = nullptr;
    std::atomic<bool> done{false};
};

class Broken : public IComponentBase {
public:
    explicit Broken(long delta) : delta_(delta), shared_(std::make_shared<Shared>()) {}
    virtual ~Broken() {}

    virtual bool ADDIN_API Init(void* disp) {
        shared_->conn = static_cast<IAddInDefBase*>(disp);
        return true;
    }
    virtual bool ADDIN_API setMemManager(void* mem) {
        mem_ = static_cast<IMemoryManager*>(mem);
        return mem_ != nullptr;
    }
    virtual long ADDIN_API GetInfo() { return 2000; }
    virtual void ADDIN_API Done() { shared_->done.store(true); }

    virtual bool ADDIN_API RegisterExtensionAs(WCHAR_T** name) {
        *name = alloc_str(u"Broken", 6);
        return *name != nullptr;
    }
    virtual long ADDIN_API GetNProps() { return kNProps; }
    virtual long ADDIN_API FindProp(const WCHAR_T* name) {
        for (long i = 0; i < kNProps; ++i)
            if (same(name, kProps[i][0]) || same(name, kProps[i][1])) return i;
        return -1;
    }
    virtual const WCHAR_T* ADDIN_API GetPropName(long n, long alias) {
        if (n < 0 || n >= kNProps || alias < 0 || alias > 1) return nullptr;
        return alloc_str(kProps[n][alias], len16(kProps[n][alias]));
    }
    virtual bool ADDIN_API GetPropVal(const long n, tVariant* v) {
        if (n == 0) {
            TV_VT(v) = VTYPE_PWSTR;
            v->pwstrVal = alloc_str(u"Broken", 6);
            v->wstrLen = 6;
            return true;
        }
        if (n == 1) {
            *v = value_;
            return true;
        }
        return false;
    }
    virtual bool ADDIN_API SetPropVal(const long n, tVariant* v) {
        if (n != 1 || TV_VT(v) == VTYPE_PWSTR || TV_VT(v) == VTYPE_BLOB) return false;
        value_ = *v;
        return true;
    }
    virtual bool ADDIN_API IsPropReadable(const long n) { return n >= 0 && n < kNProps; }
    virtual bool ADDIN_API IsPropWritable(const long n) { return n == 1; }

    virtual long ADDIN_API GetNMethods() { return kNMethods + delta_; }
    virtual long ADDIN_API FindMethod(const WCHAR_T* name) {
        for (long i = 0; i < kNMethods; ++i)
            if (same(name, kMethods[i].en) || same(name, kMethods[i].ru)) return i;
        return -1;
    }
    virtual const WCHAR_T* ADDIN_API GetMethodName(const long n, const long alias) {
        if (n < 0 || n >= kNMethods || alias < 0 || alias > 1) return nullptr;
        const char16_t* s = alias ? kMethods[n].ru : kMethods[n].en;
        return alloc_str(s, len16(s));
    }
    virtual long ADDIN_API GetNParams(const long n) { return n >= 0 && n < kNMethods ? kMethods[n].nparams : 0; }
    virtual bool ADDIN_API GetParamDefValue(const long m, const long p, tVariant* v) {
        if (m == 3 && p == 1) {  // Defaults(a, b = 42, c = "dflt")
            TV_VT(v) = VTYPE_I4;
            TV_I4(v) = 42;
            return true;
        }
        if (m == 3 && p == 2) {
            TV_VT(v) = VTYPE_PWSTR;
            v->pwstrVal = alloc_str(u"dflt", 4);
            v->wstrLen = 4;
            return true;
        }
        return false;
    }
    virtual bool ADDIN_API HasRetVal(const long n) { return n >= 0 && n < kNMethods && kMethods[n].ret; }

    virtual bool ADDIN_API CallAsProc(const long m, tVariant* p, const long n) {
        tVariant ignored;
        tVarInit(&ignored);
        bool ok = CallAsFunc(m, &ignored, p, n);
        if (TV_VT(&ignored) == VTYPE_PWSTR) mem_->FreeMemory(reinterpret_cast<void**>(&ignored.pwstrVal));
        return ok;
    }

    virtual bool ADDIN_API CallAsFunc(const long m, tVariant* ret, tVariant* p, const long n) {
        (void)n;
        switch (m) {
            case 0:  // Echo
                return copy(ret, &p[0]);
            case 1:  // Fail
                shared_->conn->AddError(ADDIN_E_FAIL, u"Broken", u"boom", -1);
                return false;
            case 2:  // FailSilently
                return false;
            case 3: {  // Defaults
                std::u16string s = describe(&p[0]) + u"|" + describe(&p[1]) + u"|" + describe(&p[2]);
                return set_str(ret, s);
            }
            case 4: {  // Fire(n) -> accepted
                long k = 0, count = TV_VT(&p[0]) == VTYPE_I4 ? TV_I4(&p[0]) : 0;
                for (long i = 0; i < count; ++i) {
                    std::u16string data = from_ascii(std::to_string(i));
                    if (shared_->conn->ExternalEvent(const_cast<WCHAR_T*>(u"Broken"),
                                                     const_cast<WCHAR_T*>(u"Tick"), &data[0]))
                        ++k;
                }
                TV_VT(ret) = VTYPE_I4;
                TV_I4(ret) = k;
                return true;
            }
            case 5: {  // FireFromThread(n): before Done, from another thread (allowed)
                long count = TV_VT(&p[0]) == VTYPE_I4 ? TV_I4(&p[0]) : 0;
                std::shared_ptr<Shared> sh = shared_;
                std::thread([sh, count] {
                    for (long i = 0; i < count && !sh->done.load(); ++i) {
                        std::u16string data = from_ascii(std::to_string(i));
                        while (!sh->done.load() &&
                               !sh->conn->ExternalEvent(const_cast<WCHAR_T*>(u"Broken"),
                                                        const_cast<WCHAR_T*>(u"Thread"), &data[0]))
                            std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    }
                }).detach();
                return true;
            }
            case 6: {  // StartLate: calls ExternalEvent after Done returned
                std::shared_ptr<Shared> sh = shared_;
                std::thread([sh] {
                    while (!sh->done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                    sh->conn->ExternalEvent(const_cast<WCHAR_T*>(u"Broken"), const_cast<WCHAR_T*>(u"Late"),
                                            const_cast<WCHAR_T*>(u""));
                }).detach();
                return true;
            }
            case 7: {  // LeakString: the first buffer is never handed over nor freed
                alloc_str(u"lost", 4);
                return set_str(ret, u"kept");
            }
            case 8: {  // FreeUnknown
                void* foreign = std::malloc(16);
                void* p2 = foreign;
                mem_->FreeMemory(&p2);
                std::free(foreign);
                return true;
            }
            case 9: {  // ReturnForeign: a static buffer handed to the platform
                static char16_t fixed[] = u"static";
                TV_VT(ret) = VTYPE_PWSTR;
                ret->pwstrVal = fixed;
                ret->wstrLen = 6;
                return true;
            }
            case 10:  // TypeOf
                return set_str(ret, describe(&p[0]));
            case 11:  // Depth
                TV_VT(ret) = VTYPE_I4;
                TV_I4(ret) = shared_->conn->GetEventBufferDepth();
                return true;
            case 12:  // SetDepth
                return shared_->conn->SetEventBufferDepth(TV_VT(&p[0]) == VTYPE_I4 ? TV_I4(&p[0]) : 0);
            case 13:  // Clean
                shared_->conn->CleanEventBuffer();
                return true;
            case 14:  // OutParam: replace the caller's string, freeing the old one first
                if (TV_VT(&p[0]) == VTYPE_PWSTR) mem_->FreeMemory(reinterpret_cast<void**>(&p[0].pwstrVal));
                tVarInit(&p[0]);
                return set_str(&p[0], u"out");
            default:
                return false;
        }
    }

    virtual void ADDIN_API SetLocale(const WCHAR_T* loc) { (void)loc; }
    virtual void ADDIN_API SetUserInterfaceLanguageCode(const WCHAR_T* lang) { (void)lang; }

private:
    WCHAR_T* alloc_str(const char16_t* s, std::size_t n) {
        void* p = nullptr;
        if (!mem_ || !mem_->AllocMemory(&p, static_cast<unsigned long>((n + 1) * sizeof(WCHAR_T)))) return nullptr;
        std::memcpy(p, s, n * sizeof(WCHAR_T));
        static_cast<WCHAR_T*>(p)[n] = 0;
        return static_cast<WCHAR_T*>(p);
    }
    bool set_str(tVariant* v, const std::u16string& s) {
        WCHAR_T* p = alloc_str(s.data(), s.size());
        if (!p) return false;
        TV_VT(v) = VTYPE_PWSTR;
        v->pwstrVal = p;
        v->wstrLen = static_cast<uint32_t>(s.size());
        return true;
    }
    bool copy(tVariant* dst, const tVariant* src) {
        if (TV_VT(src) == VTYPE_PWSTR) return set_str(dst, std::u16string(src->pwstrVal, src->wstrLen));
        if (TV_VT(src) == VTYPE_BLOB) {
            void* p = nullptr;
            if (!mem_->AllocMemory(&p, src->strLen)) return false;
            if (src->strLen) std::memcpy(p, src->pstrVal, src->strLen);
            TV_VT(dst) = VTYPE_BLOB;
            dst->pstrVal = static_cast<char*>(p);
            dst->strLen = src->strLen;
            return true;
        }
        *dst = *src;
        return true;
    }
    std::u16string describe(const tVariant* v) {
        char buf[64];
        switch (TV_VT(v)) {
            case VTYPE_EMPTY:
                return u"empty";
            case VTYPE_I4:
                std::snprintf(buf, sizeof buf, "i4:%d", TV_I4(v));
                return from_ascii(buf);
            case VTYPE_PWSTR:
                std::snprintf(buf, sizeof buf, "str%u:", v->wstrLen);
                return from_ascii(buf) + std::u16string(v->pwstrVal, v->wstrLen);
            case VTYPE_BLOB:
                std::snprintf(buf, sizeof buf, "blob%u", v->strLen);
                return from_ascii(buf);
            case VTYPE_TM:
                std::snprintf(buf, sizeof buf, "tm:%d-%d-%d %d:%d:%d w%d y%d", v->tmVal.tm_year, v->tmVal.tm_mon,
                              v->tmVal.tm_mday, v->tmVal.tm_hour, v->tmVal.tm_min, v->tmVal.tm_sec,
                              v->tmVal.tm_wday, v->tmVal.tm_yday);
                return from_ascii(buf);
            default:
                std::snprintf(buf, sizeof buf, "vt%u", static_cast<unsigned>(TV_VT(v)));
                return from_ascii(buf);
        }
    }

    long delta_;
    std::shared_ptr<Shared> shared_;
    IMemoryManager* mem_ = nullptr;
    tVariant value_ = tVariant();
};

}  // namespace

extern "C" {
const WCHAR_T* GetClassNames() { return u"Broken|Miscount|Undercount"; }
long GetClassObject(const WCHAR_T* name, IComponentBase** out) {
    if (*out) return 0;
    if (same(name, u"Broken"))
        *out = new Broken(0);
    else if (same(name, u"Miscount"))
        *out = new Broken(1);
    else if (same(name, u"Undercount"))
        *out = new Broken(-1);
    else
        return 0;
    return reinterpret_cast<long>(*out);
}
long DestroyObject(IComponentBase** p) {
    if (!p || !*p) return -1;
    delete *p;
    *p = nullptr;
    return 0;
}
AppCapabilities SetPlatformCapabilities(const AppCapabilities caps) { return caps; }
AttachType GetAttachType() { return eCanAttachAny; }
}
