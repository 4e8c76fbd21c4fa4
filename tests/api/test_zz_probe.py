def test_probe(client, people):
    for path in ("/api/v1/rooms", "/api/v1/bookings", "/api/v1/schedule", "/api/v1/plan"):
        r = client.get(path, headers={"Authorization": "Bearer expired.token.x"})
        print(path, r.status_code, r.text[:100])
