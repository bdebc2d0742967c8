package web

import "github.com/labstack/echo/v4"

// tenantRoutes are the pages of one tenant, under /t/:tenant (see pages.go).
func (s *Server) tenantRoutes(g *echo.Group) {
	g.GET("", s.tenantHome)
	g.GET("/queues/:queue", s.queue)
	g.POST("/queues/:queue/bulk", s.bulk)
	g.GET("/records/:id", s.recordPage)
	g.POST("/records/:id/check", s.checkNow)
	g.POST("/records/:id/discard", s.discard)
	g.POST("/records/:id/retry", s.retry)
	g.POST("/records/:id/resolve", s.resolve)
	g.GET("/records/:id/edit", s.editPage)
	g.POST("/records/:id/edit", s.edit)
	g.GET("/lookup", s.lookupPage)
	g.POST("/lookup/apply", s.lookupApply)
	g.GET("/reports", s.reports, requireEngineer)
	g.GET("/reports/:date", s.reportPage, requireEngineer)
	g.POST("/escalations/:id/acknowledge", s.acknowledge, requireEngineer)
	g.GET("/audit", s.auditPage)
	g.GET("/audit.csv", s.auditCSV)
}
