"""AWS adapters. Each creates its boto3 client on first use, so importing them is free."""
