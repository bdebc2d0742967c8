package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"backstop/views"
)

func (s *Server) routes() {
	s.e.GET("/", s.home)
	s.apiRoutes()
	s.webhookRoutes()
}

// chrome builds the page frame for the current request.
func (s *Server) chrome(c echo.Context, title string) views.Chrome {
	return views.Chrome{Title: title}
}

func (s *Server) home(c echo.Context) error {
	return render(c, http.StatusOK, views.HomePage(s.chrome(c, "Start"), nil))
}
