//! An array argument that knows its number of dimensions.  pgrx's `Vec<Option<T>>` flattens a
//! multi-dimensional array into its elements, so `ARRAY[[1, 2], [3, 4]]` would read as four keys; the
//! operations refuse such an argument instead.
use pgrx::callconv::{Arg, ArgAbi};
use pgrx::datum::UnboxDatum;
use pgrx::prelude::*;
use pgrx::{pg_sys, FromDatum};

pub struct Dimensioned<T> {
    pub values: Vec<Option<T>>,
    pub ndims: i32,
}

impl<T> FromDatum for Dimensioned<T>
where
    for<'arr> T: UnboxDatum<As<'arr> = T> + 'arr,
{
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        typoid: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        // SAFETY: a non-null array datum; detoasting gives a readable ArrayType header.
        let ndims = unsafe {
            let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
            (*array).ndim
        };
        // SAFETY: the same datum, read as pgrx reads a one-dimensional array.
        let values = unsafe { Vec::<Option<T>>::from_polymorphic_datum(datum, false, typoid) }?;
        Some(Dimensioned { values, ndims })
    }
}

unsafe impl<'fcx, T> ArgAbi<'fcx> for Dimensioned<T>
where
    for<'arr> T: UnboxDatum<As<'arr> = T> + 'arr,
{
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        unsafe {
            arg.unbox_arg_using_from_datum()
                .expect("array argument must not be null")
        }
    }
}

impl_sql_translatable!(Dimensioned<i64>, "bigint[]");
impl_sql_translatable!(Dimensioned<String>, "text[]");
