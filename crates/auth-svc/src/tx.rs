//! The error of a transaction that may refuse: a database failure (rolled
//! back, answered 503 or 500 as any database error) or a refusal decided
//! from what the transaction read (rolled back, answered as the refusal).

use majlis_db::DbError;
use majlis_errors::ApiError;

#[derive(Debug)]
pub enum TxError {
    Db(diesel::result::Error),
    Refused(ApiError),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl From<ApiError> for TxError {
    fn from(e: ApiError) -> Self {
        Self::Refused(e)
    }
}

impl From<TxError> for ApiError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Db(e) => DbError::from(e).into(),
            TxError::Refused(e) => e,
        }
    }
}
