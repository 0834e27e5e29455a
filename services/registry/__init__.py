"""The registry (兩庫一單): reading and validating its files, importing them, and looking matters and departments up."""
