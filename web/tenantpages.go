package web

import "github.com/labstack/echo/v4"

// tenantRoutes are the pages of one tenant, under /t/:tenant (see pages.go).
func (s *Server) tenantRoutes(g *echo.Group) {
	g.GET("", s.tenantHome)
	g.GET("/queues/:queue", s.queue)
}
