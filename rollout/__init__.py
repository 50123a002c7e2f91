"""`pipenv run rollout`: move each region's `live` alias to the newest Lambda versions in
turn (canary share, bake on alarms and a synthetic check, automatic rollback)."""
