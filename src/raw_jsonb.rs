//! A `jsonb` argument passed through untouched (and any array value handed from one statement to the next,
//! `RawValue`).  pgrx's `JsonB` turns the value into text and parses it
//! into a `serde_json::Value`; the operations only hand the document on to SQL, so they take it as is.
use pgrx::callconv::{Arg, ArgAbi};
use pgrx::prelude::*;
use pgrx::{pg_sys, FromDatum, IntoDatum};

#[derive(Clone, Copy)]
pub struct RawJsonb(pg_sys::Datum);

impl RawJsonb {
    pub fn as_arg(&self) -> pgrx::datum::DatumWithOid<'static> {
        (*self).into()
    }

    /// The value with any TOAST compression or out-of-line storage undone, once: a statement that reads
    /// elements of a parameter document one by one (`$3 -> i`) would otherwise decompress the whole
    /// document for each of them.
    pub fn detoasted(self) -> Self {
        // SAFETY: a non-null varlena datum of the current call; the copy (if any) lives in the current
        // memory context, which outlives the call's SPI statements.
        RawJsonb(pg_sys::Datum::from(unsafe {
            pg_sys::pg_detoast_datum(self.0.cast_mut_ptr::<pg_sys::varlena>())
        }))
    }

    /// A document built in Rust, as a datum of the current memory context.
    pub fn from_value(value: serde_json::Value) -> Self {
        RawJsonb(pgrx::JsonB(value).into_datum().expect("jsonb"))
    }

    /// The value parsed into serde's tree: only once its depth is known to be small (serde refuses
    /// nesting past 128 levels with an error that would be raised, not answered).
    pub fn parse(&self) -> pgrx::JsonB {
        // SAFETY: a non-null jsonb datum of the current call.
        unsafe { pgrx::JsonB::from_datum(self.0, false) }.expect("jsonb")
    }
}

impl FromDatum for RawJsonb {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        (!is_null).then_some(RawJsonb(datum))
    }

    /// A value read from an SPI result: copied out of SPI's memory (freed when the statement's connection
    /// ends) into `memory_context`, as is, without a trip through text.
    unsafe fn from_datum_in_memory_context(
        mut memory_context: pgrx::PgMemoryContexts,
        datum: pg_sys::Datum,
        is_null: bool,
        _typoid: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null || datum.is_null() {
            return None;
        }
        memory_context.switch_to(|_| {
            // SAFETY: a non-null jsonb datum of the SPI tuple being read.
            let copy = unsafe { pg_sys::pg_detoast_datum_copy(datum.cast_mut_ptr()) };
            Some(RawJsonb(pg_sys::Datum::from(copy)))
        })
    }
}

impl IntoDatum for RawJsonb {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.0)
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for RawJsonb {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        unsafe {
            arg.unbox_arg_using_from_datum()
                .expect("jsonb argument must not be null")
        }
    }
}

impl_sql_translatable!(RawJsonb, "jsonb");

// SAFETY: the datum is a jsonb value allocated in the call's memory context (or given to the call).
unsafe impl pgrx::callconv::BoxRet for RawJsonb {
    unsafe fn box_into<'fcx>(
        self,
        fcinfo: &mut pgrx::callconv::FcInfo<'fcx>,
    ) -> pgrx::datum::Datum<'fcx> {
        unsafe { fcinfo.return_raw_datum(self.0) }
    }
}

/// A value of a variable-length type (an array) read from one statement and handed to the next as it is (no
/// trip through Rust's types): copied out of SPI's memory into the current memory context, with its type.
#[derive(Clone, Copy)]
pub struct RawValue {
    datum: pg_sys::Datum,
    oid: pg_sys::Oid,
}

impl RawValue {
    pub fn as_arg(&self) -> pgrx::datum::DatumWithOid<'static> {
        // SAFETY: a non-null datum of type `oid`, alive in the call's memory context.
        unsafe { pgrx::datum::DatumWithOid::new(*self, self.oid) }
    }
}

impl FromDatum for RawValue {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        oid: pg_sys::Oid,
    ) -> Option<Self> {
        (!is_null).then_some(RawValue { datum, oid })
    }

    unsafe fn from_datum_in_memory_context(
        mut memory_context: pgrx::PgMemoryContexts,
        datum: pg_sys::Datum,
        is_null: bool,
        oid: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        memory_context.switch_to(|_| {
            // SAFETY: a non-null varlena datum of the SPI tuple being read.
            let copy = unsafe { pg_sys::pg_detoast_datum_copy(datum.cast_mut_ptr()) };
            Some(RawValue {
                datum: pg_sys::Datum::from(copy),
                oid,
            })
        })
    }
}

impl IntoDatum for RawValue {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.datum)
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::InvalidOid
    }

    fn is_compatible_with(_: pg_sys::Oid) -> bool {
        true
    }
}
