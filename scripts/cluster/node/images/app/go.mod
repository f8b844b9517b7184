module critsvc.local/app
go 1.24
