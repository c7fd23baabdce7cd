ROOMS = ["You are in a dark room."]
