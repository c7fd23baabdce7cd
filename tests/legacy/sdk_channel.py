"""A channel written with the original atlas SDK's ChannelClient, driven over stdin.

Run by the atlas-sdk environment's Python: ``python sdk_channel.py host port sid uid``.
Each stdin line is a text to parse; every message the channel receives is printed
as one JSON line ``{"event": ..., "data": ...}``.
"""

import json
import sys
import threading

from atlas_sdk import BrokerConfig, ChannelClient

lock = threading.Lock()


def emit(event, data=None):
    with lock:
        print(json.dumps({'event': event, 'data': data}), flush=True)


def main():
    host, port, sid, uid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    channel = ChannelClient(
        sid, uid,
        on_ask=lambda data, raw: emit('ask', data),
        on_show=lambda data, raw: emit('show', data),
        on_terminate=lambda: emit('terminate'),
        on_work=lambda: emit('work'),
        on_created=lambda data, raw: emit('created', data),
        on_destroyed=lambda: emit('destroyed'),
    )
    # Pings reach _check_still_connected (semver and naive dates): report they parse.
    check = channel._check_still_connected

    def checked(data, raw):
        check(data, raw)
        emit('ping', data)

    channel._check_still_connected = checked
    channel.start(BrokerConfig(host=host, port=port))
    for line in sys.stdin:
        channel.parse(line.strip())
    channel.stop()


if __name__ == '__main__':
    main()
