module critsvc.local/pause
go 1.24
