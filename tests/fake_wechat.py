"""The fake WeChat API now lives in bot/fake_wechat.py (`serve` runs it as the local stand-in);
this module keeps the tests' and benchmarks' imports working."""
from bot.fake_wechat import *  # noqa: F401,F403
from bot.fake_wechat import (  # noqa: F401
    DEFAULT_APPID,
    DEFAULT_SECRET,
    READY_PREFIX,
    FakeWeChat,
    FakeWeChatProcess,
    RemoteFake,
    main,
)

if __name__ == "__main__":
    main()
