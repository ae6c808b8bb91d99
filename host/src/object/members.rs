//! Properties and methods: 1C asks the same questions about both kinds of member, so one
//! piece of code asks them and checks the answers for either.

use super::Object;
use crate::error::{platform_err, CallError};
use crate::violations::add_violation;

/// One kind of member. `noun` completes the interface's names: `Find{noun}`,
/// `Get{noun}Name`, `GetN{noun}s`.
pub(super) struct Members {
    noun: &'static str,
    count: fn(&Object) -> i32,
    find: fn(&Object, &str) -> i32,
    name: fn(&Object, i32, i32) -> Option<String>,
}

pub(super) const PROPS: Members = Members {
    noun: "Prop",
    count: Object::n_props,
    find: Object::find_prop,
    name: Object::prop_name,
};

pub(super) const METHODS: Members = Members {
    noun: "Method",
    count: Object::n_methods,
    find: Object::find_method,
    name: Object::method_name,
};

impl Object {
    /// Finds a member as BSL does: none is the error "`missing` (`name`)"; an index beyond
    /// the count is the add-in's fault, recorded as a violation, and still used.
    pub(super) fn index_of(
        &self,
        members: &Members,
        name: &str,
        missing: &str,
    ) -> Result<i32, CallError> {
        self.alive()?;
        let noun = members.noun;
        let idx = (members.find)(self, name);
        if idx < 0 {
            return Err(platform_err(format!("{missing} ({name})")));
        }
        let count = (members.count)(self);
        if idx >= count {
            add_violation(
                self.id,
                &format!("Find{noun}(\"{name}\") = {idx}, beyond GetN{noun}s() = {count}"),
            );
        }
        Ok(idx)
    }

    /// Asks for member `i`'s name in both aliases, as 1C does, and checks that each name
    /// finds `i` again and that alias 0 exists (`count` members were announced).
    pub(super) fn check_name(&self, members: &Members, i: i32, count: i32) {
        let noun = members.noun;
        for alias in 0..2 {
            match (members.name)(self, i, alias) {
                Some(name) => {
                    let found = (members.find)(self, &name);
                    if found != i {
                        add_violation(
                            self.id,
                            &format!(
                                "Find{noun}(\"{name}\") = {found}, but Get{noun}Name({i}, {alias}) \
                                 gave that name"
                            ),
                        );
                    }
                }
                None if alias == 0 => add_violation(
                    self.id,
                    &format!(
                        "Get{noun}Name({i}, 0) returned NULL although GetN{noun}s() = {count}"
                    ),
                ),
                None => {}
            }
        }
    }
}
