CREATE TABLE snapshot (
	id INTEGER NOT NULL, 
	chain_id BIGINT NOT NULL, 
	block_number BIGINT NOT NULL, 
	block_timestamp BIGINT NOT NULL, 
	block_hash VARCHAR NOT NULL, 
	protocol VARCHAR NOT NULL, 
	data_store VARCHAR NOT NULL, 
	price_source VARCHAR NOT NULL, 
	chain_name VARCHAR NOT NULL, 
	created_at VARCHAR NOT NULL, 
	market_count INTEGER NOT NULL, 
	position_count INTEGER NOT NULL, 
	min_collateral_usd VARCHAR(80), 
	min_position_size_usd VARCHAR(80), 
	liquidation_fee_receiver_factor VARCHAR(80), 
	borrowing_fee_receiver_factor VARCHAR(80), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_snapshot_chain_protocol_store_block UNIQUE (chain_id, protocol, data_store, block_number)
);

CREATE INDEX ix_snapshot_chain_id ON snapshot (chain_id);

CREATE TABLE snapshot_token (
	id INTEGER NOT NULL, 
	snapshot_id INTEGER NOT NULL, 
	chain_id BIGINT NOT NULL, 
	block_number BIGINT NOT NULL, 
	address VARCHAR NOT NULL, 
	symbol VARCHAR NOT NULL, 
	decimals INTEGER NOT NULL, 
	synthetic BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(snapshot_id) REFERENCES snapshot (id)
);

CREATE INDEX ix_snapshot_token_snapshot_id ON snapshot_token (snapshot_id);

CREATE TABLE snapshot_price (
	id INTEGER NOT NULL, 
	snapshot_id INTEGER NOT NULL, 
	chain_id BIGINT NOT NULL, 
	block_number BIGINT NOT NULL, 
	token VARCHAR NOT NULL, 
	price_min VARCHAR(80) NOT NULL, 
	price_max VARCHAR(80) NOT NULL, 
	source VARCHAR NOT NULL, 
	feed VARCHAR, 
	feed_multiplier VARCHAR(80), 
	answer VARCHAR(80), 
	round_id VARCHAR(80), 
	updated_at VARCHAR(80), 
	PRIMARY KEY (id), 
	FOREIGN KEY(snapshot_id) REFERENCES snapshot (id)
);

CREATE INDEX ix_snapshot_price_snapshot_id ON snapshot_price (snapshot_id);

CREATE TABLE snapshot_open_interest (
	id INTEGER NOT NULL, 
	snapshot_id INTEGER NOT NULL, 
	chain_id BIGINT NOT NULL, 
	block_number BIGINT NOT NULL, 
	market VARCHAR NOT NULL, 
	collateral_token VARCHAR NOT NULL, 
	is_long BOOLEAN NOT NULL, 
	open_interest_usd VARCHAR(80) NOT NULL, 
	open_interest_in_tokens VARCHAR(80) NOT NULL, 
	collateral_sum VARCHAR(80) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(snapshot_id) REFERENCES snapshot (id)
);

CREATE INDEX ix_snapshot_open_interest_snapshot_id ON snapshot_open_interest (snapshot_id);

CREATE TABLE snapshot_market (
	id INTEGER NOT NULL, 
	snapshot_id INTEGER NOT NULL, 
	chain_id BIGINT NOT NULL, 
	block_number BIGINT NOT NULL, 
	market_token VARCHAR NOT NULL, 
	index_token VARCHAR NOT NULL, 
	long_token VARCHAR NOT NULL, 
	short_token VARCHAR NOT NULL, 
	pool_amount_long VARCHAR(80) NOT NULL, 
	pool_amount_short VARCHAR(80) NOT NULL, 
	reserve_factor_long VARCHAR(80) NOT NULL, 
	reserve_factor_short VARCHAR(80) NOT NULL, 
	open_interest_reserve_factor_long VARCHAR(80) NOT NULL, 
	open_interest_reserve_factor_short VARCHAR(80) NOT NULL, 
	max_pnl_factor_for_traders_long VARCHAR(80) NOT NULL, 
	max_pnl_factor_for_traders_short VARCHAR(80) NOT NULL, 
	max_pnl_factor_for_adl_long VARCHAR(80) NOT NULL, 
	max_pnl_factor_for_adl_short VARCHAR(80) NOT NULL, 
	min_pnl_factor_after_adl_long VARCHAR(80) NOT NULL, 
	min_pnl_factor_after_adl_short VARCHAR(80) NOT NULL, 
	is_adl_enabled_long BOOLEAN NOT NULL, 
	is_adl_enabled_short BOOLEAN NOT NULL, 
	min_collateral_factor VARCHAR(80) NOT NULL, 
	min_collateral_factor_for_liquidation VARCHAR(80) NOT NULL, 
	position_impact_factor_positive VARCHAR(80) NOT NULL, 
	position_impact_factor_negative VARCHAR(80) NOT NULL, 
	position_impact_exponent_factor_positive VARCHAR(80) NOT NULL, 
	position_impact_exponent_factor_negative VARCHAR(80) NOT NULL, 
	max_position_impact_factor_positive VARCHAR(80) NOT NULL, 
	max_position_impact_factor_negative VARCHAR(80) NOT NULL, 
	max_position_impact_factor_for_liquidations VARCHAR(80) NOT NULL, 
	position_fee_factor_positive VARCHAR(80) NOT NULL, 
	position_fee_factor_negative VARCHAR(80) NOT NULL, 
	liquidation_fee_factor VARCHAR(80) NOT NULL, 
	borrowing_factor_long VARCHAR(80) NOT NULL, 
	borrowing_factor_short VARCHAR(80) NOT NULL, 
	borrowing_exponent_factor_long VARCHAR(80) NOT NULL, 
	borrowing_exponent_factor_short VARCHAR(80) NOT NULL, 
	cumulative_borrowing_factor_long VARCHAR(80) NOT NULL, 
	cumulative_borrowing_factor_short VARCHAR(80) NOT NULL, 
	funding_factor VARCHAR(80) NOT NULL, 
	funding_exponent_factor VARCHAR(80) NOT NULL, 
	saved_funding_factor_per_second VARCHAR(80) NOT NULL, 
	position_impact_pool_amount VARCHAR(80) NOT NULL, 
	virtual_market_id VARCHAR NOT NULL, 
	virtual_token_id VARCHAR NOT NULL, 
	virtual_inventory_for_positions VARCHAR(80) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(snapshot_id) REFERENCES snapshot (id)
);

CREATE INDEX ix_snapshot_market_snapshot_id ON snapshot_market (snapshot_id);

CREATE TABLE snapshot_position (
	id INTEGER NOT NULL, 
	snapshot_id INTEGER NOT NULL, 
	chain_id BIGINT NOT NULL, 
	block_number BIGINT NOT NULL, 
	"key" VARCHAR NOT NULL, 
	account VARCHAR NOT NULL, 
	market VARCHAR NOT NULL, 
	collateral_token VARCHAR NOT NULL, 
	is_long BOOLEAN NOT NULL, 
	size_in_usd VARCHAR(80) NOT NULL, 
	size_in_tokens VARCHAR(80) NOT NULL, 
	collateral_amount VARCHAR(80) NOT NULL, 
	pending_impact_amount VARCHAR(80) NOT NULL, 
	borrowing_factor VARCHAR(80) NOT NULL, 
	funding_fee_amount_per_size VARCHAR(80) NOT NULL, 
	long_token_claimable_funding_amount_per_size VARCHAR(80) NOT NULL, 
	short_token_claimable_funding_amount_per_size VARCHAR(80) NOT NULL, 
	increased_at_time VARCHAR(80) NOT NULL, 
	decreased_at_time VARCHAR(80) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(snapshot_id) REFERENCES snapshot (id)
);

CREATE INDEX ix_snapshot_position_snapshot_market ON snapshot_position (snapshot_id, market);
