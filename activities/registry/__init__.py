"""The registry (兩庫一單): importing it from files, and the lookups workflows run as activities."""
