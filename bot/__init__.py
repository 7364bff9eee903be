"""村务公开助手: a WeChat official-account bot for village and government disclosure."""
