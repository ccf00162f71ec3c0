"""The city operations centre (城市运行中心): the live map and today's key figures of every module, by area."""
